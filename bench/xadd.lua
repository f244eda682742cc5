-- The Redis Streams peer of `TLOG.LOG prefix message tag`, for `make bench`: the record added
-- to an all-stream and, under the same entry id, to the tag's stream.
-- KEYS[1] = the all-stream, KEYS[2] = the tag's stream, ARGV[1] = message, ARGV[2] = tag.
-- Returns the entry id.
local id = redis.call('XADD', KEYS[1], '*', 'message', ARGV[1], 'tags', ARGV[2])
redis.call('XADD', KEYS[2], id, 'message', ARGV[1], 'tags', ARGV[2])
return id
