//! What the server and the docs know of each command: the [`Spec`] type (defined beside the
//! registration that reads it, in `ffi::command`), its syntax line as redis.io prints it, and
//! the argument lists the read commands share.

pub use crate::ffi::command::{Arg, ArgKind, Spec};

#[cfg(test)]
impl Spec {
    /// The syntax line as redis.io prints it: `TLOG.GET prefix [tag [RAW]]`.
    pub fn syntax(&self) -> String {
        let mut s = self.name.to_ascii_uppercase();
        for a in self.args {
            s.push(' ');
            s.push_str(&render(a));
        }
        s
    }
}

#[cfg(test)]
fn render(a: &Arg) -> String {
    let mut inner = match a.kind {
        ArgKind::Token => a.token.unwrap_or(a.name).to_string(),
        ArgKind::Block => {
            let mut parts: Vec<String> = a.token.map(str::to_string).into_iter().collect();
            parts.extend(a.subargs.iter().map(render));
            parts.join(" ")
        }
        ArgKind::OneOf => a.subargs.iter().map(render).collect::<Vec<_>>().join(" | "),
        _ => match a.token {
            Some(t) => format!("{t} {}", a.name),
            None => a.name.to_string(),
        },
    };
    if a.multiple {
        inner = format!("{inner} [{inner} ...]");
    }
    if a.optional {
        format!("[{inner}]")
    } else {
        inner
    }
}

pub const TAG_FILTERS: [Arg; 3] = [
    Arg::new("and", ArgKind::Block)
        .token("AND")
        .optional()
        .subargs(&[Arg::new("numtags", ArgKind::Integer), Arg::new("tag", ArgKind::String).multiple()]),
    Arg::new("or", ArgKind::Block)
        .token("OR")
        .optional()
        .subargs(&[Arg::new("numtags", ArgKind::Integer), Arg::new("tag", ArgKind::String).multiple()]),
    Arg::new("not", ArgKind::Block)
        .token("NOT")
        .optional()
        .subargs(&[Arg::new("numtags", ArgKind::Integer), Arg::new("tag", ArgKind::String).multiple()]),
];

/// `[WHERE numpairs field value [field value ...]] [MATCH pattern]`: the record filters.
pub const RECORD_FILTERS: [Arg; 2] = [
    Arg::new("where", ArgKind::Block).token("WHERE").optional().subargs(&[
        Arg::new("numpairs", ArgKind::Integer),
        Arg::new("pair", ArgKind::Block)
            .multiple()
            .subargs(&[Arg::new("field", ArgKind::String), Arg::new("value", ArgKind::String)]),
    ]),
    Arg::new("pattern", ArgKind::String).token("MATCH").optional(),
];

/// `[SCANLIMIT limit] [WITHCURSOR]`: how many ids a call may pass over, and a reply that says
/// where the next call goes on from.
pub const SCAN_OPTIONS: [Arg; 2] = [
    Arg::new("limit", ArgKind::Integer).token("SCANLIMIT").optional(),
    Arg::new("withcursor", ArgKind::Token).token("WITHCURSOR").optional(),
];

const TIME_BOUNDS: [Arg; 4] = [
    Arg::new("before-id", ArgKind::Integer).token("BEFORE").optional(),
    Arg::new("after-id", ArgKind::Integer).token("AFTER").optional(),
    Arg::new("since-time", ArgKind::String).token("SINCE").optional(),
    Arg::new("until-time", ArgKind::String).token("UNTIL").optional(),
];

/// `TLOG.GET prefix [tag [options]]`.
pub const GET_ARGS: &[Arg] = &[
    Arg::new("prefix", ArgKind::Key),
    Arg::new("flow", ArgKind::Block).optional().subargs(&[
        Arg::new("tag", ArgKind::String),
        TAG_FILTERS[0],
        TAG_FILTERS[1],
        TAG_FILTERS[2],
        RECORD_FILTERS[0],
        RECORD_FILTERS[1],
        Arg::new("count", ArgKind::Integer).token("LIMIT").optional(),
        Arg::new("order", ArgKind::OneOf)
            .optional()
            .subargs(&[Arg::new("asc", ArgKind::Token).token("ASC"), Arg::new("desc", ArgKind::Token).token("DESC")]),
        TIME_BOUNDS[0],
        TIME_BOUNDS[1],
        TIME_BOUNDS[2],
        TIME_BOUNDS[3],
        SCAN_OPTIONS[0],
        SCAN_OPTIONS[1],
        Arg::new("raw", ArgKind::Token).token("RAW").optional(),
    ]),
];

/// `TLOG.LATEST prefix [tag [options]]`.
pub const LATEST_ARGS: &[Arg] = &[
    Arg::new("prefix", ArgKind::Key),
    Arg::new("flow", ArgKind::Block).optional().subargs(&[
        Arg::new("tag", ArgKind::String),
        TAG_FILTERS[0],
        TAG_FILTERS[1],
        TAG_FILTERS[2],
        RECORD_FILTERS[0],
        RECORD_FILTERS[1],
        TIME_BOUNDS[0],
        TIME_BOUNDS[1],
        TIME_BOUNDS[2],
        TIME_BOUNDS[3],
        SCAN_OPTIONS[0],
        SCAN_OPTIONS[1],
        Arg::new("raw", ArgKind::Token).token("RAW").optional(),
    ]),
];

/// `TLOG.COUNT prefix [tag [bounds]]`.
pub const COUNT_ARGS: &[Arg] = &[
    Arg::new("prefix", ArgKind::Key),
    Arg::new("flow", ArgKind::Block).optional().subargs(&[
        Arg::new("tag", ArgKind::String),
        TAG_FILTERS[0],
        TAG_FILTERS[1],
        TAG_FILTERS[2],
        RECORD_FILTERS[0],
        RECORD_FILTERS[1],
        TIME_BOUNDS[0],
        TIME_BOUNDS[1],
        TIME_BOUNDS[2],
        TIME_BOUNDS[3],
        Arg::new("seconds", ArgKind::Integer).token("BUCKET").optional(),
        SCAN_OPTIONS[0],
        SCAN_OPTIONS[1],
    ]),
];
