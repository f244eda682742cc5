-- The Lua peer of `TLOG.GET prefix tag LIMIT count RAW`, for `make bench`: the newest `count`
-- records of a tag's flow, as their stored JSON strings, newest first.
-- KEYS[1] = prefix, ARGV[1] = tag, ARGV[2] = count.
local prefix = KEYS[1]
local ids = redis.call('LRANGE', prefix .. ':flow:' .. ARGV[1], 0, tonumber(ARGV[2]) - 1)
local out = {}
for i, id in ipairs(ids) do
    out[i] = redis.call('GET', prefix .. ':msg:' .. id)
end
return out
