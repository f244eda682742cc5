//! `tlog`: query, follow, count, export and import the records of a tlog store from a terminal.

mod args;
mod record;

use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anstream::println;
use anstyle::{AnsiColor, Style};
use chrono::{TimeZone, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use redis::{ConnectionLike, Value};

use args::Filters;
use record::{escape_controls, human_time, ImportLine, Message, Record};

/// Records read or written per call: bounded work on the server, few round trips.
const PAGE: usize = 1000;

#[derive(Parser)]
#[command(name = "tlog", version, about = "Query, follow, count, export and import the records of a tlog store")]
struct Cli {
    /// Server URL: redis://[user:password@]host[:port][/db], rediss://... (TLS), or a Unix
    /// socket as unix:///path/to/redis.sock or redis+unix:///path/to/redis.sock
    #[arg(long, env = "REDIS_URL", hide_env_values = true, default_value = "redis://127.0.0.1:6379", global = true)]
    url: String,
    /// Seconds to wait for a connection, and for each reply, before giving up (tail -f waits
    /// this long beyond its 5 s block, then reconnects)
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = args::parse_whole_secs, global = true)]
    timeout: Duration,
    /// Talk to a Redis Cluster (the prefix needs a hash tag, such as {app})
    #[arg(long, global = true)]
    cluster: bool,
    /// Output format of get, tail, count and tags [default: human] (export writes records as
    /// stored and takes no -o)
    #[arg(short = 'o', long, value_enum, global = true)]
    output: Option<Output>,
    /// Print times in UTC rather than local time
    #[arg(long, global = true)]
    utc: bool,
    /// Verbose: JSON messages indented over several lines
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Output {
    /// One line per record for people
    Human,
    /// One JSON object per line: id, ts (RFC 3339, UTC), message, tags, attrs
    Jsonl,
    /// Each record as stored
    Raw,
    /// Aligned columns
    Table,
}

#[derive(Args, Clone, Default)]
struct FilterArgs {
    /// Only records that also have this tag (repeatable)
    #[arg(long = "and", value_name = "TAG")]
    and: Vec<String>,
    /// Only records with at least one of these tags (repeatable)
    #[arg(long = "or", value_name = "TAG")]
    or: Vec<String>,
    /// Only records without this tag (repeatable)
    #[arg(long = "not", value_name = "TAG")]
    not: Vec<String>,
    /// Only records whose attribute KEY is VALUE (repeatable)
    #[arg(long = "where", value_name = "KEY=VALUE", value_parser = args::parse_pair)]
    wheres: Vec<(String, String)>,
    /// Only records whose message matches this glob pattern
    #[arg(long = "match", value_name = "GLOB")]
    pattern: Option<String>,
}

impl FilterArgs {
    fn filters(&self) -> Filters {
        Filters {
            and: self.and.clone(),
            or: self.or.clone(),
            not: self.not.clone(),
            wheres: self.wheres.clone(),
            pattern: self.pattern.clone(),
        }
    }
}

#[derive(Args, Clone, Default)]
struct TimeArgs {
    /// Only records at or after this time: 30s, 15m, 1h, 7d ago, RFC 3339, or unix seconds
    #[arg(long)]
    since: Option<String>,
    /// Only records at or before this time (same forms as --since)
    #[arg(long)]
    until: Option<String>,
}

impl TimeArgs {
    fn resolve(&self) -> Result<(Option<String>, Option<String>), Fail> {
        let now = Utc::now();
        let f = |t: &Option<String>| t.as_deref().map(|t| args::parse_time(t, now)).transpose().map_err(Fail::Usage);
        Ok((f(&self.since)?, f(&self.until)?))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Log a message with tags; prints the new record's id
    Log {
        /// The prefix of the store's keys (`app` for app:counter, app:msg:<id>, ...)
        prefix: String,
        /// The message (text, or a JSON value with --json)
        message: String,
        /// Tags of the record (each a flow of its own)
        tags: Vec<String>,
        /// The message is a JSON value
        #[arg(long)]
        json: bool,
        /// Expire the record after this long (30s, 15m, 1h, 7d; whole seconds)
        #[arg(long, value_parser = args::parse_whole_secs)]
        ttl: Option<Duration>,
        /// An attribute (repeatable, each KEY once); VALUE is JSON if it parses as JSON exactly as
        /// written (97, true, {"a":1}), else text
        #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = args::parse_pair)]
        attrs: Vec<(String, String)>,
    },
    /// Records newest first (every record within the bounds unless --limit)
    Get {
        /// The prefix of the store's keys
        prefix: String,
        /// The tag whose records to read (default: every record)
        tag: Option<String>,
        #[command(flatten)]
        filters: FilterArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// At most this many records
        #[arg(long)]
        limit: Option<u64>,
        /// Oldest first
        #[arg(long)]
        asc: bool,
    },
    /// The newest records, oldest first; with -f, then every new record as it is logged
    Tail {
        /// The prefix of the store's keys
        prefix: String,
        /// The tag whose records to follow (default: every record)
        tag: Option<String>,
        #[command(flatten)]
        filters: FilterArgs,
        /// Keep following: wait for new records, reconnecting if the connection drops
        #[arg(short, long)]
        follow: bool,
        /// Start after this id (0: from the first record, $: only new records), instead of the last -n
        #[arg(long, value_name = "ID|$")]
        from: Option<String>,
        /// How many of the newest records to show first
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: u64,
    },
    /// Count records; with --bucket, a histogram of counts per time bucket
    Count {
        /// The prefix of the store's keys
        prefix: String,
        /// The tag whose records to count (default: every record)
        tag: Option<String>,
        #[command(flatten)]
        filters: FilterArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Bucket width (30s, 5m, 1h, 1d; whole seconds): draws a bar chart of the counts, the
        /// 30 buckets up to --until (now) unless --since says otherwise
        #[arg(long, value_parser = args::parse_whole_secs)]
        bucket: Option<Duration>,
    },
    /// The tags of a prefix with their record counts and newest record
    Tags {
        /// The prefix of the store's keys
        prefix: String,
        /// Only tags matching this glob pattern
        #[arg(long = "match", value_name = "GLOB")]
        pattern: Option<String>,
    },
    /// Delete records by id; prints how many were deleted
    Del {
        /// The prefix of the store's keys
        prefix: String,
        /// Ids of the records to delete
        #[arg(required = true)]
        ids: Vec<u64>,
    },
    /// Remove every key of a prefix (asks first unless --yes)
    Purge {
        /// The prefix whose keys to remove
        prefix: String,
        /// Do not ask for confirmation
        #[arg(short, long)]
        yes: bool,
    },
    /// Every record as stored, oldest first, one a line (JSON lines)
    Export {
        /// The prefix of the store's keys
        prefix: String,
        /// Only the records of this tag (default: every record)
        tag: Option<String>,
        #[command(flatten)]
        filters: FilterArgs,
        #[command(flatten)]
        time: TimeArgs,
    },
    /// Log the records of JSON lines from stdin, keeping their times, tags and attributes
    ///
    /// Each line needs "ts" and "message"; a line that is not such a record stops the import
    /// (exit 2), a line the server refuses stops it after its batch (exit 1), and what was
    /// stored before is said. Importing the same lines again stores them again: resume with
    /// --from-line, or import into a new prefix
    Import {
        /// The prefix to log the records into
        prefix: String,
        /// Commands per pipelined batch
        #[arg(long, default_value_t = PAGE)]
        batch: usize,
        /// Skip the lines before this one (the first line is 1), to resume an import that stopped
        #[arg(long, value_name = "N", default_value_t = 1)]
        from_line: u64,
    },
}

/// Why a command failed: the server said no (exit 1), or the command line is wrong (exit 2).
#[derive(Debug)]
enum Fail {
    Server(String),
    /// The connection failed or dropped, or the server is loading: worth a retry when following.
    Conn(String),
    Usage(String),
}

impl From<redis::RedisError> for Fail {
    fn from(e: redis::RedisError) -> Fail {
        let retry = e.is_io_error()
            || e.is_connection_refusal()
            || e.is_connection_dropped()
            || e.is_timeout()
            || e.kind() == redis::ErrorKind::BusyLoadingError
            || e.kind() == redis::ErrorKind::TryAgain;
        if retry {
            Fail::Conn(server_message(&e))
        } else {
            Fail::Server(server_message(&e))
        }
    }
}

/// The server's error as it sent it, RESP code first (`ERR ...`, `NOPERM ...`).
fn server_message(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Server(m) | Fail::Conn(m)) => {
            anstream::eprintln!("{}error:{} {m}", style_err().render(), style_err().render_reset());
            ExitCode::from(1)
        }
        Err(Fail::Usage(m)) => {
            anstream::eprintln!("{}error:{} {m}", style_err().render(), style_err().render_reset());
            ExitCode::from(2)
        }
    }
}

fn style_err() -> Style {
    Style::new().fg_color(Some(AnsiColor::Red.into())).bold()
}

type Conn = Box<dyn ConnectionLike + Send>;

/// The URL with its password hidden, for messages.
fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => url.to_string(),
    }
}

/// The parsed URL, or a usage error (exit 2) that says which forms are taken.
fn connection_info(url: &str) -> Result<redis::ConnectionInfo, Fail> {
    redis::IntoConnectionInfo::into_connection_info(url).map_err(|e| {
        Fail::Usage(format!(
            "invalid URL '{}' ({}): use redis://[user:password@]host[:port][/db], rediss://... for TLS, \
             or unix:///path/to/redis.sock",
            shown_url(url),
            e.detail().unwrap_or(e.to_string().as_str())
        ))
    })
}

/// A connection whose every reply is awaited at most `response` (`--timeout`, or the block of
/// `tail -f` plus `--timeout`). Connecting, the TLS handshake and authentication included, is
/// bounded by `--timeout` as a whole: it runs on a thread that is left behind if it hangs (a
/// server that is stopped, or a rediss:// URL on a port without TLS).
fn connect_for(cli: &Cli, response: Duration) -> Result<Conn, Fail> {
    let info = connection_info(&cli.url)?;
    let limit = cli.timeout;
    let (cluster, url) = (cli.cluster, cli.url.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(open(info, cluster, &url, limit, response));
    });
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(_) => {
            let tls = if cli.url.starts_with("rediss://") {
                " (a rediss:// URL needs a port where the server speaks TLS)"
            } else {
                ""
            };
            Err(Fail::Conn(format!("no answer from {} within {}s{tls}", shown_url(&cli.url), limit.as_secs())))
        }
    }
}

fn connect(cli: &Cli) -> Result<Conn, Fail> {
    connect_for(cli, cli.timeout)
}

fn open(
    mut info: redis::ConnectionInfo,
    cluster: bool,
    url: &str,
    limit: Duration,
    response: Duration,
) -> Result<Conn, Fail> {
    if cluster {
        let client = redis::cluster::ClusterClient::builder(vec![url])
            .connection_timeout(limit)
            .response_timeout(response)
            .build()?;
        return Ok(Box::new(client.get_connection()?));
    }
    // The credentials are sent by AUTH here rather than by redis-rs, whose error would hide
    // the server's (WRONGPASS ...).
    let user = info.redis.username.take();
    let password = info.redis.password.take();
    let client = redis::Client::open(info)?;
    let con = client.get_connection_with_timeout(limit)?;
    con.set_read_timeout(Some(response))?;
    con.set_write_timeout(Some(response))?;
    let mut con: Conn = Box::new(con);
    if let Some(pw) = password {
        let mut auth = vec!["AUTH".to_string()];
        auth.extend(user);
        auth.push(pw);
        query(&mut con, &auth)?;
    }
    Ok(con)
}

fn query(con: &mut Conn, words: &[String]) -> Result<Value, Fail> {
    let mut c = redis::cmd(&words[0]);
    for w in &words[1..] {
        c.arg(w.as_str());
    }
    match con.req_command(&c)? {
        Value::ServerError(e) => Err(Fail::from(redis::RedisError::from(e))),
        v => Ok(v),
    }
}

fn words(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|w| w.to_string()).collect()
}

fn int_of(v: &Value) -> Result<i64, Fail> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()).ok_or_else(|| unexpected(v)),
        Value::SimpleString(s) => s.parse().map_err(|_| unexpected(v)),
        _ => Err(unexpected(v)),
    }
}

/// The bytes of a reply, unchanged.
fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        Value::VerbatimString { text, .. } => Some(text.clone().into_bytes()),
        _ => None,
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

fn unexpected(v: &Value) -> Fail {
    Fail::Server(format!("unexpected reply from the server: {v:?}"))
}

/// `[cursor, [raw records]]`, as WITHCURSOR RAW replies.
fn cursor_page(v: &Value) -> Result<(i64, Vec<Record>), Fail> {
    match v {
        Value::Array(a) if a.len() == 2 => {
            let cursor = int_of(&a[0])?;
            let Value::Array(items) = &a[1] else { return Err(unexpected(v)) };
            let recs = items
                .iter()
                .map(|i| bytes_of(i).map(|t| Record::parse(&t)).ok_or_else(|| unexpected(i)))
                .collect::<Result<_, _>>()?;
            Ok((cursor, recs))
        }
        _ => Err(unexpected(v)),
    }
}

/// A reader that went away (`tlog get | head`) ends the command, as for other Unix tools.
fn closed_pipe(r: std::io::Result<()>) {
    if let Err(e) = r {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Prints records in the chosen format.
struct Printer {
    output: Output,
    utc: bool,
    verbose: bool,
}

impl Printer {
    fn print(&self, recs: &[Record]) {
        // raw and jsonl go out byte for byte: anstream, which takes colours out when piped,
        // would drop bytes that are not UTF-8 and escape sequences a plain client stored.
        if matches!(self.output, Output::Raw | Output::Jsonl) {
            let mut out = std::io::stdout().lock();
            for r in recs {
                let written = match self.output {
                    Output::Raw => out.write_all(&r.raw).and_then(|_| out.write_all(b"\n")),
                    _ => writeln!(out, "{}", r.jsonl()),
                };
                closed_pipe(written);
            }
            closed_pipe(out.flush());
            return;
        }
        let mut out = anstream::stdout().lock();
        if self.output == Output::Table {
            self.table(&mut out, recs);
            return;
        }
        for r in recs {
            closed_pipe(writeln!(out, "{}", self.human(r)));
        }
        closed_pipe(out.flush());
    }

    fn human(&self, r: &Record) -> String {
        let dim = Style::new().dimmed();
        let id = Style::new().fg_color(Some(AnsiColor::Cyan.into()));
        let tag = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
        let json = Style::new().fg_color(Some(AnsiColor::Green.into()));
        let mut line = format!(
            "{dim}{}{dim:#} {id}{:>6}{id:#}",
            human_time(r.time(), self.utc),
            r.id.map_or("-".to_string(), |i| i.to_string())
        );
        if !r.tags.is_empty() {
            line.push_str(&format!(" {tag}[{}]{tag:#}", escape_controls(&r.tags.join(","))));
        }
        match &r.message {
            Some(Message::Json(_)) => line.push_str(&format!(" {json}{}{json:#}", r.message_text(self.verbose))),
            _ => line.push_str(&format!(" {}", escape_controls(&r.message_text(false)))),
        }
        if let Some(a) = &r.attrs {
            line.push_str(&format!(" {dim}{a}{dim:#}"));
        }
        line
    }

    fn table(&self, out: &mut impl Write, recs: &[Record]) {
        let rows: Vec<[String; 5]> = recs
            .iter()
            .map(|r| {
                [
                    r.id.map_or("-".into(), |i| i.to_string()),
                    human_time(r.time(), self.utc),
                    escape_controls(&r.tags.join(",")).into_owned(),
                    escape_controls(&r.message_text(false)).into_owned(),
                    r.attrs.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let head = ["ID", "TIME", "TAGS", "MESSAGE", "ATTRS"];
        let mut w = head.map(|h| h.chars().count());
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |cells: [&str; 5]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = w[i] - c.chars().count();
                if i == 0 {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else if i == 4 {
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
                if i < 4 {
                    s.push_str("  ");
                }
            }
            s.trim_end().to_string()
        };
        let bold = Style::new().bold();
        let _ = writeln!(out, "{bold}{}{bold:#}", line(head));
        for r in &rows {
            let _ = writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
        }
        let _ = out.flush();
    }
}

fn run(cli: &Cli) -> Result<(), Fail> {
    let printer = Printer { output: cli.output.unwrap_or(Output::Human), utc: cli.utc, verbose: cli.verbose };
    match &cli.command {
        Command::Log { prefix, message, tags, json, ttl, attrs } => {
            let mut w = words(&["TLOG.ADD", prefix]);
            if *json {
                w.push("JSON".into());
            }
            if !attrs.is_empty() {
                w.extend(["ATTRS".into(), args::attrs_object(attrs).map_err(Fail::Usage)?]);
            }
            if let Some(t) = ttl {
                w.extend(["TTL".into(), t.as_secs().to_string()]);
            }
            w.extend(["MESSAGE".into(), message.clone()]);
            w.extend(tags.iter().cloned());
            let id = int_of(&query(&mut connect(cli)?, &w)?)?;
            println!("{id}");
            Ok(())
        }
        Command::Get { prefix, tag, filters, time, limit, asc } => {
            let (since, until) = time.resolve()?;
            let mut con = connect(cli)?;
            let base = read_words("TLOG.GET", prefix, tag, &filters.filters(), since.as_deref(), until.as_deref());
            let mut left = limit.unwrap_or(u64::MAX);
            let mut cursor: Option<i64> = None;
            let mut all = Vec::new();
            while left > 0 {
                let mut w = base.clone();
                w.extend(words(&["LIMIT", &left.min(PAGE as u64).to_string(), if *asc { "ASC" } else { "DESC" }]));
                if let Some(c) = cursor {
                    w.extend(words(&[if *asc { "AFTER" } else { "BEFORE" }, &c.to_string()]));
                }
                w.extend(words(&["WITHCURSOR", "RAW"]));
                let (next, recs) = cursor_page(&query(&mut con, &w)?)?;
                left -= (recs.len() as u64).min(left);
                if printer.output == Output::Table {
                    all.extend(recs);
                } else {
                    printer.print(&recs);
                }
                if next == 0 {
                    break;
                }
                cursor = Some(next);
            }
            if printer.output == Output::Table {
                printer.print(&all);
            }
            Ok(())
        }
        Command::Tail { prefix, tag, filters, follow, from, lines } => {
            tail(cli, &printer, prefix, tag, &filters.filters(), *follow, from.as_deref(), *lines)
        }
        Command::Count { prefix, tag, filters, time, bucket } => {
            let (since, until) = time.resolve()?;
            let mut con = connect(cli)?;
            let tag = tag.as_deref().unwrap_or("__all__");
            let f = filters.filters();
            if let Some(b) = bucket {
                let secs = b.as_secs();
                let now = Utc::now();
                let until =
                    until.unwrap_or_else(|| format!("{}.{:06}", now.timestamp(), now.timestamp_subsec_micros()));
                // By default the 30 buckets that end with the one holding UNTIL.
                let since = match since {
                    Some(s) => s,
                    None => args::default_bucket_since(&until, secs).map_err(Fail::Usage)?,
                };
                // With WITHCURSOR, a histogram the scan limit cut short goes on with BEFORE the
                // cursor; the counts of each call are added bucket by bucket.
                let mut sums: Vec<(i64, i64)> = Vec::new();
                let mut before: Option<i64> = None;
                loop {
                    let mut w = args::bucket_words(prefix, tag, &f, &since, &until, secs);
                    if let Some(b) = before {
                        w.extend(words(&["BEFORE", &b.to_string()]));
                    }
                    w.push("WITHCURSOR".into());
                    let reply = query(&mut con, &w)?;
                    let Value::Array(a) = &reply else { return Err(unexpected(&reply)) };
                    let [cursor, page] = &a[..] else { return Err(unexpected(&reply)) };
                    for (start, count) in buckets(page)? {
                        match sums.iter_mut().find(|b| b.0 == start) {
                            Some(b) => b.1 += count,
                            None => sums.push((start, count)),
                        }
                    }
                    match int_of(cursor)? {
                        0 => break,
                        c => before = Some(c),
                    }
                }
                sums.sort();
                histogram(&printer, &sums, secs);
                return Ok(());
            }
            let mut total = 0i64;
            let mut before: Option<i64> = None;
            loop {
                let mut w =
                    read_words("TLOG.COUNT", prefix, &Some(tag.to_string()), &f, since.as_deref(), until.as_deref());
                if let Some(b) = before {
                    w.extend(words(&["BEFORE", &b.to_string()]));
                }
                w.push("WITHCURSOR".into());
                let Value::Array(a) = query(&mut con, &w)? else {
                    return Err(Fail::Server("unexpected reply to TLOG.COUNT".into()));
                };
                if a.len() != 2 {
                    return Err(Fail::Server("unexpected reply to TLOG.COUNT".into()));
                }
                total += int_of(&a[1])?;
                let c = int_of(&a[0])?;
                if c == 0 {
                    break;
                }
                before = Some(c);
            }
            match printer.output {
                Output::Jsonl => println!("{{\"count\":{total}}}"),
                _ => println!("{total}"),
            }
            Ok(())
        }
        Command::Tags { prefix, pattern } => {
            let mut con = connect(cli)?;
            let mut cursor = "0".to_string();
            let mut tags: Vec<(String, i64, Option<i64>, Option<String>)> = Vec::new();
            loop {
                let mut w = words(&["TLOG.TAGS", prefix, &cursor, "COUNT", "1000"]);
                if let Some(p) = pattern {
                    w.extend(words(&["MATCH", p]));
                }
                let v = query(&mut con, &w)?;
                let Value::Array(a) = &v else { return Err(unexpected(&v)) };
                let (Some(c), Some(Value::Array(items))) = (a.first().and_then(text_of), a.get(1)) else {
                    return Err(unexpected(&v));
                };
                for item in items {
                    let fields = map_fields(item);
                    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                    let name = get("tag").as_ref().and_then(text_of).unwrap_or_default();
                    let count = get("count").map(|c| int_of(&c)).transpose()?.unwrap_or(0);
                    let newest = get("newest-id").and_then(|c| int_of(&c).ok());
                    let ts = get("newest-ts").as_ref().and_then(text_of);
                    tags.push((name, count, newest, ts));
                }
                cursor = c;
                if cursor == "0" {
                    break;
                }
            }
            tags.sort();
            tags.dedup_by(|a, b| a.0 == b.0);
            for (name, count, newest, ts) in tags {
                match printer.output {
                    Output::Jsonl | Output::Raw => println!(
                        "{{\"tag\":{},\"count\":{count},\"newest_id\":{},\"newest_ts\":{}}}",
                        serde_json::Value::String(name),
                        newest.map_or("null".into(), |i| i.to_string()),
                        ts.map_or("null".into(), |t| serde_json::Value::String(t).to_string())
                    ),
                    _ => {
                        let t = ts
                            .as_deref()
                            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                            .map(|t| t.with_timezone(&Utc));
                        let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
                        println!("{yellow}{name}{yellow:#}\t{count}\t{}", human_time(t, cli.utc));
                    }
                }
            }
            Ok(())
        }
        Command::Del { prefix, ids } => {
            let mut w = words(&["TLOG.DEL", prefix]);
            w.extend(ids.iter().map(|i| i.to_string()));
            println!("{}", int_of(&query(&mut connect(cli)?, &w)?)?);
            Ok(())
        }
        Command::Purge { prefix, yes } => {
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(Fail::Usage(format!("purging '{prefix}' needs --yes when not asked at a terminal")));
                }
                eprint!("Remove every record, flow and the counter of the prefix '{prefix}'? Type 'yes': ");
                let mut answer = String::new();
                let _ = std::io::stdin().lock().read_line(&mut answer);
                if answer.trim() != "yes" {
                    return Err(Fail::Usage("not purged".into()));
                }
            }
            let n = int_of(&query(&mut connect(cli)?, &words(&["TLOG.PURGE", prefix]))?)?;
            println!("{n}");
            Ok(())
        }
        Command::Export { .. } | Command::Import { .. } if cli.output.is_some() => Err(Fail::Usage(
            "-o does not apply to export and import: export writes each record as stored, one JSON object a line"
                .into(),
        )),
        Command::Export { prefix, tag, filters, time } => export(cli, prefix, tag, &filters.filters(), time),
        Command::Import { prefix, batch, from_line } => import(cli, prefix, (*batch).max(1), *from_line),
    }
}

/// The words of a read up to its paging options: `CMD prefix tag [filters] [SINCE] [UNTIL]`.
fn read_words(
    cmd: &str,
    prefix: &str,
    tag: &Option<String>,
    f: &Filters,
    since: Option<&str>,
    until: Option<&str>,
) -> Vec<String> {
    let mut w = words(&[cmd, prefix, tag.as_deref().unwrap_or("__all__")]);
    w.extend(f.words());
    w.extend(args::time_words(since, until));
    w
}

/// A map reply's fields, RESP2 (flat array) or RESP3 (map).
fn map_fields(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Map(m) => m.iter().filter_map(|(k, v)| text_of(k).map(|k| (k, v.clone()))).collect(),
        Value::Array(a) => {
            a.chunks(2).filter(|c| c.len() == 2).filter_map(|c| text_of(&c[0]).map(|k| (k, c[1].clone()))).collect()
        }
        _ => Vec::new(),
    }
}

fn buckets(v: &Value) -> Result<Vec<(i64, i64)>, Fail> {
    let Value::Array(a) = v else { return Err(unexpected(v)) };
    a.iter()
        .map(|p| match p {
            Value::Array(pair) if pair.len() == 2 => Ok((int_of(&pair[0])?, int_of(&pair[1])?)),
            _ => Err(unexpected(p)),
        })
        .collect()
}

/// A bar chart of the buckets, one line each: start time, count, bar.
fn histogram(printer: &Printer, buckets: &[(i64, i64)], secs: u64) {
    if printer.output == Output::Jsonl || printer.output == Output::Raw {
        for (start, count) in buckets {
            println!("{{\"start\":{start},\"seconds\":{secs},\"count\":{count}}}");
        }
        return;
    }
    let max = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let width = terminal_width();
    let cw = buckets.iter().map(|b| b.1.to_string().len()).max().unwrap_or(1);
    let bar_w = width.saturating_sub(23 + 2 + cw + 2).max(10);
    let bar = Style::new().fg_color(Some(AnsiColor::Blue.into()));
    for (start, count) in buckets {
        let t = Utc.timestamp_opt(*start, 0).single();
        let n = ((*count as u128 * bar_w as u128).div_ceil(max as u128)) as usize;
        let line = format!("{}  {count:>cw$}", human_time(t, printer.utc));
        match n {
            0 => println!("{line}"),
            n => println!("{line}  {bar}{}{bar:#}", "█".repeat(n)),
        }
    }
    let total: i64 = buckets.iter().map(|b| b.1).sum();
    println!("{} records in {} buckets of {}s", total, buckets.len(), secs);
}

/// The width to draw in: $COLUMNS if set, else the terminal's, else 80 (not a terminal).
fn terminal_width() -> usize {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()).filter(|c| *c > 0) {
        return c;
    }
    console::Term::stdout().size_checked().map_or(80, |(_rows, cols)| cols as usize)
}

#[allow(clippy::too_many_arguments)]
fn tail(
    cli: &Cli,
    printer: &Printer,
    prefix: &str,
    tag: &Option<String>,
    f: &Filters,
    follow: bool,
    from: Option<&str>,
    lines: u64,
) -> Result<(), Fail> {
    let tag = tag.clone().unwrap_or_else(|| "__all__".into());
    // A blocked TLOG.TAIL answers within BLOCK: a reply later than BLOCK plus --timeout means
    // the server stopped answering, and the connection is made again.
    let follow_timeout = Duration::from_millis(BLOCK_MS) + cli.timeout;
    let mut con = if follow { connect_for(cli, follow_timeout)? } else { connect(cli)? };
    let from_given = matches!(from, Some(id) if id != "$");
    // Where the live part goes on from: the last id looked at.
    let mut last: i64 = match from {
        Some("$") => newest_id(&mut con, prefix, &tag, f)?,
        Some(id) => {
            id.parse::<i64>().map_err(|_| Fail::Usage(format!("--from needs a record id, 0 or $, not '{id}'")))?
        }
        None => {
            // The newest `lines` records, read newest first, printed oldest first.
            let mut got: Vec<Record> = Vec::new();
            let mut cursor: Option<i64> = None;
            while (got.len() as u64) < lines {
                let mut w = read_words("TLOG.GET", prefix, &Some(tag.clone()), f, None, None);
                w.extend(words(&["LIMIT", &(lines - got.len() as u64).min(PAGE as u64).to_string()]));
                if let Some(c) = cursor {
                    w.extend(words(&["BEFORE", &c.to_string()]));
                }
                w.extend(words(&["WITHCURSOR", "RAW"]));
                let (next, recs) = cursor_page(&query(&mut con, &w)?)?;
                got.extend(recs);
                if next == 0 {
                    break;
                }
                cursor = Some(next);
            }
            got.reverse();
            printer.print(&got);
            match got.last().and_then(|r| r.id) {
                Some(id) => id,
                // -n 0: only what comes next.
                None if lines == 0 => newest_id(&mut con, prefix, &tag, f)?,
                // Nothing matched in the whole flow: follow from the start.
                None => 0,
            }
        }
    };
    // The highest id the server has shown: ids below it later mean the prefix was purged or
    // lost records in a restart (an id given with --from is the user's, not the server's).
    let mut seen: i64 = if from_given { 0 } else { last };
    // Catch up without blocking, then (with -f) wait for new records.
    let mut backoff = Duration::from_millis(100);
    let mut lost = false;
    loop {
        let block = if follow { Some(BLOCK_MS) } else { None };
        let w = tail_words(prefix, &tag, f, &last.to_string(), block);
        let reply = match query(&mut con, &w) {
            Ok(r) => r,
            Err(e) if follow && is_connection_error(&e) => {
                if !lost {
                    let (Fail::Conn(m) | Fail::Server(m) | Fail::Usage(m)) = &e;
                    eprintln!("tlog: connection lost ({m}); reconnecting");
                    lost = true;
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                if let Ok(c) = connect_for(cli, follow_timeout) {
                    con = c;
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        if lost {
            eprintln!("tlog: reconnected, going on after id {last}");
            lost = false;
        }
        backoff = Duration::from_millis(100);
        let (next, recs) = match reply {
            Value::Nil => (0, Vec::new()),
            v => cursor_page(&v)?,
        };
        printer.print(&recs);
        let moved = next > last;
        if next > 0 {
            last = last.max(next);
        }
        seen = seen.max(last);
        if !follow && recs.is_empty() && !moved {
            return Ok(());
        }
        if follow && recs.is_empty() {
            if let Some(newest) = counter(&mut con, prefix) {
                if newest < seen {
                    eprintln!(
                        "tlog: the ids of '{prefix}' went back from {seen} to {newest} (purged, or a restart \
                         lost records): following the records logged since"
                    );
                    last = 0;
                    seen = newest;
                }
            }
        }
    }
}

/// How long a blocked `tail -f` waits for a record per call.
const BLOCK_MS: u64 = 5000;

/// The prefix's id counter (0 when it does not exist), or None when it cannot be read.
fn counter(con: &mut Conn, prefix: &str) -> Option<i64> {
    let key = if prefix.is_empty() { "counter".to_string() } else { format!("{prefix}:counter") };
    match query(con, &words(&["GET", &key])).ok()? {
        Value::Nil => Some(0),
        v => int_of(&v).ok(),
    }
}

/// The id `$` stands for now, so that a reconnect goes on from it rather than from a later `$`.
fn newest_id(con: &mut Conn, prefix: &str, tag: &str, f: &Filters) -> Result<i64, Fail> {
    match query(con, &tail_words(prefix, tag, f, "$", None))? {
        Value::Array(a) if a.len() == 2 => int_of(&a[0]),
        v => Err(unexpected(&v)),
    }
}

fn is_connection_error(e: &Fail) -> bool {
    matches!(e, Fail::Conn(_))
}

fn tail_words(prefix: &str, tag: &str, f: &Filters, from: &str, block: Option<u64>) -> Vec<String> {
    let mut w = words(&["TLOG.TAIL", prefix, tag, from]);
    w.extend(f.words());
    w.extend(words(&["COUNT", &PAGE.to_string()]));
    if let Some(b) = block {
        w.extend(words(&["BLOCK", &b.to_string()]));
    }
    w.extend(words(&["WITHCURSOR", "RAW"]));
    w
}

fn progress(total: Option<u64>, what: &str) -> ProgressBar {
    let pb = match total {
        Some(t) => ProgressBar::new(t).with_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {pos} ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    pb.set_draw_target(if std::io::stderr().is_terminal() {
        indicatif::ProgressDrawTarget::stderr()
    } else {
        indicatif::ProgressDrawTarget::hidden()
    });
    pb.set_message(what.to_string());
    pb
}

fn export(cli: &Cli, prefix: &str, tag: &Option<String>, f: &Filters, time: &TimeArgs) -> Result<(), Fail> {
    let (since, until) = time.resolve()?;
    let mut con = connect(cli)?;
    let t = tag.clone().unwrap_or_else(|| "__all__".into());
    let total = if f.is_empty() && since.is_none() && until.is_none() {
        Some(int_of(&query(&mut con, &words(&["TLOG.COUNT", prefix, &t]))?)? as u64)
    } else {
        None
    };
    let pb = progress(total, "export");
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let base = read_words("TLOG.GET", prefix, tag, f, since.as_deref(), until.as_deref());
    let mut after: Option<i64> = None;
    let mut n = 0u64;
    loop {
        let mut w = base.clone();
        w.extend(words(&["ASC", "LIMIT", &PAGE.to_string()]));
        if let Some(a) = after {
            w.extend(words(&["AFTER", &a.to_string()]));
        }
        w.extend(words(&["WITHCURSOR", "RAW"]));
        let (next, recs) = cursor_page(&query(&mut con, &w)?)?;
        for r in &recs {
            let written = out.write_all(&r.raw).and_then(|_| out.write_all(b"\n"));
            closed_pipe(written.as_ref().map(|_| ()).map_err(|e| std::io::Error::from(e.kind())));
            written.map_err(|e| Fail::Server(format!("writing the export: {e}")))?;
        }
        n += recs.len() as u64;
        pb.set_position(n);
        if next == 0 {
            break;
        }
        after = Some(next);
    }
    let flushed = out.flush();
    closed_pipe(flushed.as_ref().map(|_| ()).map_err(|e| std::io::Error::from(e.kind())));
    flushed.map_err(|e| Fail::Server(format!("writing the export: {e}")))?;
    pb.finish_and_clear();
    summary("exported", n, started);
    Ok(())
}

fn summary(what: &str, n: u64, started: Instant) {
    let s = started.elapsed().as_secs_f64();
    eprintln!("{what} {n} records in {s:.2}s ({:.0} records/s)", n as f64 / s.max(1e-9));
}

/// The TLOG.ADD words for one line of an export (or of `-o jsonl`), and the line as read.
fn import_words(prefix: &str, line: &str) -> Result<(Vec<String>, ImportLine), String> {
    let r = ImportLine::parse(line)?;
    let mut w = words(&["TLOG.ADD", prefix]);
    let (s, us) = r.ts;
    w.extend(["TS".into(), format!("{s}.{us:06}")]);
    if let Some(a) = &r.attrs {
        w.extend(["ATTRS".into(), a.clone()]);
    }
    match &r.message {
        Message::Text(t) => w.extend(["MESSAGE".into(), t.clone()]),
        Message::Json(j) => w.extend(["JSON".into(), "MESSAGE".into(), j.clone()]),
    }
    w.extend(r.tags.iter().cloned());
    Ok((w, r))
}

/// What an import did so far: the records stored, and the lines that failed with why.
#[derive(Default)]
struct Imported {
    stored: u64,
    failed: Vec<u64>,
    /// The last line sent (or skipped as blank): a resume starts after it.
    done: u64,
}

impl Imported {
    /// Sends the pending lines as one pipeline and reads every reply: each refused line is
    /// reported on stderr with the server's error, and counted.
    fn flush(&mut self, con: &mut Conn, pending: &mut Vec<(u64, Vec<String>)>) -> Result<(), Fail> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (_, w) in pending.iter() {
            let mut c = redis::cmd(&w[0]);
            for a in &w[1..] {
                c.arg(a.as_str());
            }
            pipe.add_command(c);
        }
        let replies = con.req_packed_commands(&pipe.get_packed_pipeline(), 0, pending.len())?;
        if replies.len() != pending.len() {
            return Err(Fail::Server(format!(
                "{} replies to a batch of {} lines (lines {} to {}): the records stored are unknown",
                replies.len(),
                pending.len(),
                pending[0].0,
                pending[pending.len() - 1].0
            )));
        }
        for ((line, _), r) in pending.iter().zip(&replies) {
            match r {
                Value::ServerError(e) => {
                    let e = redis::RedisError::from(e.clone());
                    self.fail(*line, &server_message(&e));
                }
                _ => self.stored += 1,
            }
        }
        self.done = pending[pending.len() - 1].0;
        pending.clear();
        Ok(())
    }

    fn fail(&mut self, line: u64, why: &str) {
        anstream::eprintln!("{}error:{} line {line}: {why}", style_err().render(), style_err().render_reset());
        self.failed.push(line);
    }

    /// The summary of an import that stopped: what was stored, which lines failed, where to
    /// go on from.
    fn stopped(&self, at: &str) -> String {
        let failed = match self.failed.len() {
            0 => String::new(),
            _ => format!(
                "; failed: line{} {}",
                if self.failed.len() == 1 { "" } else { "s" },
                self.failed.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
            ),
        };
        format!(
            "import stopped {at}: {} stored{failed}; to go on after the last line sent, add --from-line {}",
            records(self.stored),
            self.done + 1
        )
    }
}

/// `1 record`, `2 records`.
fn records(n: u64) -> String {
    format!("{n} record{}", if n == 1 { "" } else { "s" })
}

fn import(cli: &Cli, prefix: &str, batch: usize, from_line: u64) -> Result<(), Fail> {
    let mut con = connect(cli)?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let pb = progress(None, "import");
    let started = Instant::now();
    let mut done = Imported { done: from_line.saturating_sub(1), ..Default::default() };
    let mut lineno = 0u64;
    let mut pending: Vec<(u64, Vec<String>)> = Vec::with_capacity(batch);
    let (mut extra, mut extra_lines, mut attrs_dropped) = (std::collections::BTreeMap::new(), 0u64, 0u64);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf).map_err(|e| Fail::Server(format!("reading stdin: {e}")))?;
        if n == 0 {
            break;
        }
        lineno += 1;
        if lineno < from_line {
            continue;
        }
        let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            if pending.is_empty() {
                done.done = lineno;
            }
            continue;
        }
        // A line that is not a record stops the import: the lines before it are sent first.
        let refused = match std::str::from_utf8(bytes) {
            Err(e) => Some((
                1,
                format!(
                    "not UTF-8 (byte {}): the server's TLOG.ADD takes UTF-8 text only, and the line is not altered",
                    e.valid_up_to() + 1
                ),
            )),
            Ok(line) => match import_words(prefix, line) {
                Err(e) => Some((2, e)),
                Ok((w, r)) => {
                    if !r.extra.is_empty() {
                        extra_lines += 1;
                        for k in r.extra {
                            *extra.entry(k).or_insert(0u64) += 1;
                        }
                    }
                    attrs_dropped += u64::from(r.attrs_dropped);
                    pending.push((lineno, w));
                    None
                }
            },
        };
        if let Some((code, why)) = refused {
            done.flush(&mut con, &mut pending)?;
            pb.finish_and_clear();
            done.fail(lineno, &why);
            let msg = done.stopped(&format!("at line {lineno}"));
            return Err(if code == 2 { Fail::Usage(msg) } else { Fail::Server(msg) });
        }
        if pending.len() >= batch {
            done.flush(&mut con, &mut pending)?;
            pb.set_position(done.stored);
            if !done.failed.is_empty() {
                break;
            }
        }
    }
    if done.failed.is_empty() {
        done.flush(&mut con, &mut pending)?;
    }
    pb.finish_and_clear();
    if extra_lines > 0 {
        let fields: Vec<String> = extra.iter().map(|(k, n)| format!("{k} ({n})")).collect();
        eprintln!(
            "warning: {extra_lines} lines had fields a record does not have, not imported: {}",
            fields.join(", ")
        );
    }
    if attrs_dropped > 0 {
        eprintln!("warning: {attrs_dropped} lines had \"attrs\" that is not an object, not imported");
    }
    if !done.failed.is_empty() {
        return Err(Fail::Server(done.stopped(&format!("after line {}", done.done))));
    }
    summary("imported", done.stored, started);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_words_keep_time_attrs_format_and_tags() {
        let import_words = |p: &str, l: &str| super::import_words(p, l).map(|(w, _)| w);
        let w = import_words("p", r#"{"id":2,"ts":1700000060.000000,"message":{"disk":100},"tags":["disk"]}"#).unwrap();
        assert_eq!(w, ["TLOG.ADD", "p", "TS", "1700000060.000000", "JSON", "MESSAGE", r#"{"disk":100}"#, "disk"]);
        let w = import_words(
            "p",
            r#"{"id":1,"ts":"2023-11-14T22:13:20Z","message":"MESSAGE","tags":["a","b"],"attrs":{"host":"db1"}}"#,
        )
        .unwrap();
        assert_eq!(
            w,
            ["TLOG.ADD", "p", "TS", "1700000000.000000", "ATTRS", r#"{"host":"db1"}"#, "MESSAGE", "MESSAGE", "a", "b"]
        );
        assert!(import_words("p", r#"{"message":"no time"}"#).is_err());
        assert!(import_words("p", "plain text").is_err());
        assert!(import_words("p", r#"{"id":3}"#).is_err());
    }

    #[test]
    fn usage_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
