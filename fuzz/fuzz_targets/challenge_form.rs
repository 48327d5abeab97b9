//! Any bytes as the body of the birth-date challenge's form: the parser
//! never panics, reads exactly one answer per child, and the decision never
//! confirms a record with a child marked "not mine" or a wrong date, nor
//! lets a presumed date or a homonym through without a code.
#![no_main]

use educonnect_core::internal::{CHALLENGE_DATES, CHALLENGE_RECORDS, challenge_form};
use libfuzzer_sys::fuzz_target;

fn right(child: usize, (day, month, year): (u8, u8, u16)) -> bool {
    let (y, m, d) = CHALLENGE_DATES[child];
    y == year && (m == 0 || m == month) && (d == 0 || d == day)
}

fuzz_target!(|data: &[u8]| {
    let result = challenge_form(data);
    assert_eq!(result.answers.len(), CHALLENGE_DATES.len());
    for &(record, needs_code) in &result.confirmed {
        let children = CHALLENGE_RECORDS[record];
        for &child in children {
            let (day, month, year, not_mine) = result.answers[child];
            assert!(
                !not_mine,
                "record {record} confirmed with child {child} not mine"
            );
            assert!(
                right(child, (day, month, year)),
                "record {record}: wrong date for {child}"
            );
        }
        // Only children 0 and 1 have full dates; 0 is shared by records 0
        // and 1, which fit equally: homonyms when both are confirmed.
        let strong = children.iter().any(|&c| c < 2);
        let confirmed = |r: usize| result.confirmed.iter().any(|&(c, _)| c == r);
        let homonym = children.contains(&0) && confirmed(0) && confirmed(1);
        if !strong || homonym {
            assert!(needs_code, "record {record} confirmed without a code");
        }
    }
});
