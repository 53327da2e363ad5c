//! Jurisdiction codes: ISO 3166-1 alpha-2 country codes, plus `UK` (reserved by ISO for the
//! United Kingdom and what people type), `EU` (rules that apply across the European Union) and
//! `OTHER` (any country the runbook does not list).

/// The officially assigned ISO 3166-1 alpha-2 codes.
const ISO_3166_1: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE \
DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS \
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW \
KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW \
MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO \
RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM \
TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Codes with a meaning of their own here.
pub const SPECIAL: [&str; 3] = ["UK", "EU", "OTHER"];

/// Whether `code` names a jurisdiction custody knows.
pub fn is_known(code: &str) -> bool {
    SPECIAL.contains(&code) || (code.len() == 2 && ISO_3166_1.split(' ').any(|c| c == code))
}

/// A hint for a code that is not known: the upper-case form, or what to use instead.
pub fn hint(code: &str) -> String {
    let upper = code.to_ascii_uppercase();
    if upper != code && is_known(&upper) {
        format!("codes are written in upper case: `{upper}`")
    } else {
        "use an ISO 3166-1 alpha-2 country code (such as BE, NL, US), or UK, EU or OTHER".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_countries_and_special_codes() {
        for code in ["BE", "NL", "US", "CA", "AU", "GB", "UK", "EU", "OTHER"] {
            assert!(is_known(code), "{code}");
        }
        for code in ["be", "XX", "USA", "", "O"] {
            assert!(!is_known(code), "{code}");
        }
        assert!(hint("nl").contains("`NL`"));
        assert!(hint("XX").contains("ISO 3166-1"));
    }
}
