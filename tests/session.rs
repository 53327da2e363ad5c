#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use custody::journal::event::Mode;
use custody::session::{Action, Session, State};

#[test]
fn smoke_walk_flagship() {
    let dir = common::temp_dir("smoke");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("csam-discovery", Mode::Real), &clock).unwrap();
    let events = common::walk(&mut s, &clock, 1);
    assert!(s.state().finished);
    s.apply(Action::Seal {
        note: None,
        signed_by: None,
    })
    .unwrap();
    let live: State = s.state().clone();
    let folder = s.folder().to_owned();
    drop(s);
    let reopened = Session::open(&folder, false, &clock).unwrap();
    assert_eq!(reopened.state(), &live);
    eprintln!("{} events in {}", events.len(), folder.display());
}
