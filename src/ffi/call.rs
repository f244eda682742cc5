//! Commands run through `RedisModule_Call`: writes replicated as they are ("!"), reads of many
//! keys at once (LRANGE, MGET), SCAN, CONFIG SET, CLUSTER NODES, COMMAND INFO.

use std::ffi::{c_char, CStr};

use redis_module::raw;

use super::{api, Ctx, RString};
use crate::error::{Error, Result};

impl Ctx {
    /// Runs a write command as the server would for a client and replicates it as is ("!"):
    /// for writes the key API lacks (LREM, DEL), after every check has passed.
    pub fn call_replicated(self, cmd: &CStr, args: &[&RString]) -> Result<()> {
        self.call_replicated_int(cmd, args).map(|_| ())
    }

    /// As [`Ctx::call_replicated`], returning the command's integer reply (0 for any other).
    pub fn call_replicated_int(self, cmd: &CStr, args: &[&RString]) -> Result<i64> {
        let call = api!(RedisModule_Call);
        let free = api!(RedisModule_FreeCallReply);
        let kind = api!(RedisModule_CallReplyType);
        let int = api!(RedisModule_CallReplyInteger);
        let mut argv: Vec<*mut raw::RedisModuleString> = args.iter().map(|a| a.ptr).collect();
        // SAFETY: "!v" takes a RedisModuleString** and its length; the strings outlive the
        // call; the reply is freed once.
        unsafe {
            let reply = call(self.as_ptr(), cmd.as_ptr(), c"!v".as_ptr(), argv.as_mut_ptr(), argv.len());
            if reply.is_null() {
                return Err(Error::Internal("a write the checks allowed was refused"));
            }
            let t = kind(reply) as isize;
            let n = if t == raw::REDISMODULE_REPLY_INTEGER { int(reply) } else { 0 };
            free(reply);
            if t == raw::REDISMODULE_REPLY_ERROR {
                return Err(Error::Internal("a write the checks allowed failed"));
            }
            Ok(n)
        }
    }

    /// Runs a read-only command whose reply is an array of strings and nulls (LRANGE, MGET)
    /// as the server would for a client, with no ACL check of its own (the caller checks every
    /// key first) and nothing replicated: for reads the key API makes costly, such as one
    /// MGET in place of a key opened per record. `None` if the server refuses to run it (in
    /// cluster mode, keys of a slot being migrated) or it fails: the caller reads by keys.
    pub fn call_strings<'s>(self, cmd: &CStr, args: impl IntoIterator<Item = &'s RString>) -> Option<CallStrings> {
        // SAFETY: the pointer is written once at module load and only read afterwards.
        let call = (unsafe { raw::RedisModule_Call })?;
        let mut argv: Vec<*mut raw::RedisModuleString> = args.into_iter().map(|a| a.ptr).collect();
        // SAFETY: "v" takes a RedisModuleString** and its length; the strings outlive the call.
        let ptr = unsafe { call(self.as_ptr(), cmd.as_ptr(), c"v".as_ptr(), argv.as_mut_ptr(), argv.len()) };
        if ptr.is_null() {
            return None;
        }
        CallStrings::new(CallReply { ptr })
    }

    /// `CONFIG SET name value`; the server's error text if it refuses.
    pub fn config_set(self, name: &[u8], value: &[u8]) -> Result<()> {
        let call = api!(RedisModule_Call);
        let free = api!(RedisModule_FreeCallReply);
        let kind = api!(RedisModule_CallReplyType);
        let text = api!(RedisModule_CallReplyStringPtr);
        // SAFETY: "cbb" takes a C string and two (ptr, len) pairs, alive during the call; the
        // reply is freed once, after its text is copied.
        unsafe {
            let reply = call(
                self.as_ptr(),
                c"CONFIG".as_ptr(),
                c"cbb".as_ptr(),
                c"SET".as_ptr(),
                name.as_ptr().cast::<c_char>(),
                name.len(),
                value.as_ptr().cast::<c_char>(),
                value.len(),
            );
            if reply.is_null() {
                return Err(Error::Internal("CONFIG SET failed"));
            }
            let result = if kind(reply) as isize == raw::REDISMODULE_REPLY_ERROR {
                let mut n = 0usize;
                let p = text(reply, &mut n);
                Err(Error::Message(if p.is_null() {
                    "ERR refused".into()
                } else {
                    String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), n)).into_owned()
                }))
            } else {
                Ok(())
            };
            free(reply);
            result
        }
    }

    /// The text of `CLUSTER NODES`.
    pub fn cluster_nodes(self) -> Result<Vec<u8>> {
        let call = api!(RedisModule_Call);
        let free = api!(RedisModule_FreeCallReply);
        let text = api!(RedisModule_CallReplyStringPtr);
        // SAFETY: "c" takes one C string; the reply is freed once, after its text is copied.
        unsafe {
            let reply = call(self.as_ptr(), c"CLUSTER".as_ptr(), c"c".as_ptr(), c"NODES".as_ptr());
            if reply.is_null() {
                return Err(Error::Internal("CLUSTER NODES failed"));
            }
            let mut n = 0usize;
            let p = text(reply, &mut n);
            let out = if p.is_null() { None } else { Some(std::slice::from_raw_parts(p.cast::<u8>(), n).to_vec()) };
            free(reply);
            out.ok_or(Error::Internal("unexpected CLUSTER NODES reply"))
        }
    }

    /// The commands of `names` the server does not know (renamed away, or missing).
    pub fn missing_commands(self, names: &[&CStr]) -> Result<Vec<String>> {
        let call = api!(RedisModule_Call);
        let free = api!(RedisModule_FreeCallReply);
        let kind = api!(RedisModule_CallReplyType);
        let len = api!(RedisModule_CallReplyLength);
        let elem = api!(RedisModule_CallReplyArrayElement);
        let mut missing = Vec::new();
        for name in names {
            // SAFETY: "cc" takes two C strings; the reply is freed once.
            unsafe {
                let reply = call(self.as_ptr(), c"COMMAND".as_ptr(), c"cc".as_ptr(), c"INFO".as_ptr(), name.as_ptr());
                if reply.is_null() {
                    return Err(Error::Internal("COMMAND INFO failed"));
                }
                let known = kind(reply) as isize == raw::REDISMODULE_REPLY_ARRAY
                    && len(reply) == 1
                    && kind(elem(reply, 0)) as isize == raw::REDISMODULE_REPLY_ARRAY;
                free(reply);
                if !known {
                    missing.push(name.to_string_lossy().into_owned());
                }
            }
        }
        Ok(missing)
    }

    /// One SCAN step over the database: `(next cursor, keys)`. Runs the server's own SCAN, so
    /// the work per call is bounded by `count` as for any client.
    pub fn scan(self, cursor: &[u8], pattern: &[u8], count: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>)> {
        let call = api!(RedisModule_Call);
        let free = api!(RedisModule_FreeCallReply);
        let kind = api!(RedisModule_CallReplyType);
        let len = api!(RedisModule_CallReplyLength);
        let elem = api!(RedisModule_CallReplyArrayElement);
        let text = api!(RedisModule_CallReplyStringPtr);
        let malformed = Error::Internal("unexpected SCAN reply");
        // SAFETY: "bcbcb" takes (ptr, len) pairs and C strings, all alive during the call; the
        // reply is freed below, and the slices read from it are copied before that.
        unsafe {
            let reply = call(
                self.as_ptr(),
                c"SCAN".as_ptr(),
                c"bcbcb".as_ptr(),
                cursor.as_ptr().cast::<c_char>(),
                cursor.len(),
                c"MATCH".as_ptr(),
                pattern.as_ptr().cast::<c_char>(),
                pattern.len(),
                c"COUNT".as_ptr(),
                count.as_ptr().cast::<c_char>(),
                count.len(),
            );
            if reply.is_null() {
                return Err(malformed);
            }
            let bytes = |r: *mut raw::RedisModuleCallReply| -> Option<Vec<u8>> {
                let mut n = 0usize;
                let p = text(r, &mut n);
                (!p.is_null()).then(|| std::slice::from_raw_parts(p.cast::<u8>(), n).to_vec())
            };
            let result = (|| {
                if kind(reply) as isize != raw::REDISMODULE_REPLY_ARRAY || len(reply) != 2 {
                    return None;
                }
                let next = bytes(elem(reply, 0))?;
                let keys_reply = elem(reply, 1);
                if kind(keys_reply) as isize != raw::REDISMODULE_REPLY_ARRAY {
                    return None;
                }
                let keys: Option<Vec<Vec<u8>>> = (0..len(keys_reply)).map(|i| bytes(elem(keys_reply, i))).collect();
                Some((next, keys?))
            })();
            free(reply);
            result.ok_or(malformed)
        }
    }
}

/// A reply of a command run through RedisModule_Call, freed on drop.
pub(super) struct CallReply {
    pub(super) ptr: *mut raw::RedisModuleCallReply,
}

impl CallReply {
    /// The protocol of the reply as the command wrote it (RESP2). Reading it does not make
    /// the server parse the reply, as every other accessor does.
    fn proto(&self) -> &[u8] {
        // SAFETY: a live reply; the bytes live as long as it does.
        unsafe {
            let Some(f) = raw::RedisModule_CallReplyProto else { return &[] };
            let mut n = 0usize;
            let p = f(self.ptr, &mut n);
            if p.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(p.cast::<u8>(), n)
            }
        }
    }

    /// The elements of an array reply through the server's parser: `None` if the reply is
    /// not an array, else each string's bytes, `None` for a null or anything else.
    fn parsed(&self) -> Option<Vec<Option<&[u8]>>> {
        // SAFETY: a live reply; an element lives as long as its array, and its bytes as long
        // as the element.
        unsafe {
            let kind = raw::RedisModule_CallReplyType?;
            if kind(self.ptr) as isize != raw::REDISMODULE_REPLY_ARRAY {
                return None;
            }
            let (len, elem, text) = (
                raw::RedisModule_CallReplyLength?,
                raw::RedisModule_CallReplyArrayElement?,
                raw::RedisModule_CallReplyStringPtr?,
            );
            Some(
                (0..len(self.ptr))
                    .map(|i| {
                        let e = elem(self.ptr, i);
                        if e.is_null() || kind(e) as isize != raw::REDISMODULE_REPLY_STRING {
                            return None;
                        }
                        let mut n = 0usize;
                        let p = text(e, &mut n);
                        (!p.is_null()).then(|| std::slice::from_raw_parts(p.cast::<u8>(), n))
                    })
                    .collect(),
            )
        }
    }
}

impl Drop for CallReply {
    fn drop(&mut self) {
        // SAFETY: we own the reply and free it once.
        unsafe {
            if let Some(f) = raw::RedisModule_FreeCallReply {
                f(self.ptr);
            }
        }
    }
}

/// An array reply of strings and nulls (LRANGE, MGET), read once: the protocol is read
/// directly when it has that form (see `resp`), else through the server's parser.
pub struct CallStrings {
    pub(super) reply: CallReply,
    /// Each element's bytes (pointer and length into the reply), `None` for a null.
    items: Vec<Option<(*const u8, usize)>>,
    /// The whole reply is exactly an array of strings, free of nulls.
    all_strings: bool,
}

impl CallStrings {
    /// `None` for a reply that is not an array (an error).
    fn new(reply: CallReply) -> Option<Self> {
        let (items, all_strings) = match crate::resp::bulk_array(reply.proto()) {
            Some(v) => {
                let all = v.iter().all(Option::is_some);
                (v, all)
            }
            None => (reply.parsed()?, false),
        };
        let items = items.into_iter().map(|s| s.map(|b| (b.as_ptr(), b.len()))).collect();
        Some(CallStrings { reply, items, all_strings })
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Element `i`: its bytes, or `None` for a null (a missing key of MGET).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let (p, n) = (*self.items.get(i)?)?;
        // SAFETY: the bytes belong to `self.reply`, alive and unchanged while `self` is.
        Some(unsafe { std::slice::from_raw_parts(p, n) })
    }

    /// The reply holds only strings: it can be forwarded to a client as it is.
    pub fn all_strings(&self) -> bool {
        self.all_strings
    }
}
