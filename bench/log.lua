-- The Lua peer of `TLOG.LOG prefix message tag`, for `make bench`.
-- KEYS[1] = prefix, ARGV[1] = message, ARGV[2] = tag. Returns the new record's id.
-- Redis 7 replicates a script's effects, so calling TIME before writing is allowed.
local id = redis.call('INCR', KEYS[1] .. ':counter')
local t = redis.call('TIME')
local record = cjson.encode({
    id = id,
    ts = tonumber(t[1]) + tonumber(t[2]) / 1e6,
    message = ARGV[1],
    tags = {ARGV[2]},
})
redis.call('SET', KEYS[1] .. ':msg:' .. id, record)
redis.call('LPUSH', KEYS[1] .. ':flow:__all__', id)
redis.call('LPUSH', KEYS[1] .. ':flow:' .. ARGV[2], id)
return id
