//! `TLOG.DEL prefix id [id ...]`: deletes records and their ids from every flow they are in.

use super::{Arg, ArgKind, Spec};
use crate::error::{Error, Result};
use crate::ffi::{Ctx, Reply};
use crate::keys;
use crate::store;

pub static SPEC: Spec = Spec {
    name: "tlog.del",
    flags: "write",
    arity: -3,
    writes: true,
    summary: "Deletes records and removes their ids from every flow they are in; returns how many were deleted.",
    complexity: "O(K * F * (log N + D)) for K ids and F flows per record, where N is the length of a flow and D the distance of the id from the nearer end of that flow.",
    since: "0.1.0",
    args: &[Arg::new("prefix", ArgKind::Key), Arg::new("id", ArgKind::Integer).multiple()],
    entry: crate::command_entry!(run),
};

/// The ids to delete: positive integers, each once, in the order given.
pub fn parse_ids(args: &[&[u8]]) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> = Vec::with_capacity(args.len());
    for a in args {
        let id = keys::parse_id(a).ok_or(Error::BadNumber("TLOG.DEL", "record ids (positive integers)"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let [prefix, ids @ ..] = args else {
        return Err(Error::Syntax);
    };
    let ids = parse_ids(ids)?;
    let n = store::delete(ctx, prefix, &ids)?;
    Reply::new(ctx).int(i64::try_from(n).unwrap_or(i64::MAX));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_and_counted_once() {
        assert_eq!(parse_ids(&[b"3", b"1", b"3"]).unwrap(), vec![3, 1]);
        for bad in [&b"0"[..], b"-1", b"x", b"1.5", b""] {
            assert_eq!(parse_ids(&[b"1", bad]), Err(Error::BadNumber("TLOG.DEL", "record ids (positive integers)")));
        }
    }
}
