/**
 * The Lua scripts of cluster mode. Each runs atomically in Redis, so a
 * check and the write it guards are one step (no check-then-act race), and
 * an append, its trimming and its expiry cannot be seen half done.
 *
 * A generation's keys share one hash tag (`yychat:g:{<hash>}:…`): meta hash
 * `:m`, event stream `:e` (entry id `<seq>-0`, so Redis itself refuses an
 * event at or below the top: no duplicate), snapshot text `:t`. Scripts that
 * touch the node registry reach keys by name (standalone Redis, not Redis
 * Cluster).
 */

/** KEYS: meta, events, text. ARGV: ttlMs, then field/value pairs of the record. */
export const CREATE = `
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], 'bytes', 0, 'firstSeq', 1, 'topSeq', 0, 'lastChunkSeq', 0, unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/**
 * KEYS: meta, events, text. ARGV: seq, event JSON, chunk text ('' when not a
 * chunk), isChunk ('1'/'0'), maxBytes, ttlMs, channel. Appends, keeps the
 * snapshot text, trims the oldest events past maxBytes (the newest stays),
 * refreshes the expiry, then publishes the event. Returns 0 when the meta is
 * gone (expired or replaced).
 */
export const APPEND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], ARGV[1] .. '-0', 'e', ARGV[2])
local bytes = redis.call('HINCRBY', KEYS[1], 'bytes', #ARGV[2])
if ARGV[4] == '1' then
  redis.call('APPEND', KEYS[3], ARGV[3])
  bytes = redis.call('HINCRBY', KEYS[1], 'bytes', #ARGV[3])
  redis.call('HSET', KEYS[1], 'lastChunkSeq', ARGV[1])
end
redis.call('HSET', KEYS[1], 'topSeq', ARGV[1])
local max = tonumber(ARGV[5])
while bytes > max and redis.call('XLEN', KEYS[2]) > 1 do
  local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 2)
  redis.call('XDEL', KEYS[2], oldest[1][1])
  bytes = redis.call('HINCRBY', KEYS[1], 'bytes', -#oldest[1][2][2])
  redis.call('HSET', KEYS[1], 'firstSeq', string.match(oldest[2][1], '^(%d+)'))
end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
redis.call('PUBLISH', ARGV[7], ARGV[2])
return 1
`;

/** KEYS: meta, events, text. ARGV: status, atMs, ttlMs, channel, message. */
export const FINISH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finishedAtMs', ARGV[2])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`;

/**
 * KEYS: meta, events, text. ARGV: afterSeq. Returns nil for an unknown
 * generation, else {status, topSeq, snapshot (0/1), fromSeq, text, events…}:
 * the events after `afterSeq` when the log still holds `afterSeq + 1`, else
 * the snapshot text through `fromSeq` and the events after it — read in one
 * step, so the two always agree.
 */
export const READ = `
local m = redis.call('HMGET', KEYS[1], 'status', 'topSeq', 'firstSeq', 'lastChunkSeq')
if not m[1] then return nil end
local top = tonumber(m[2])
local first = tonumber(m[3])
if redis.call('XLEN', KEYS[2]) == 0 then first = top + 1 end
local after = tonumber(ARGV[1])
local snapshot = 0
local from = after
local text = ''
if after + 1 < first then
  snapshot = 1
  from = math.max(tonumber(m[4]), first - 1)
  text = redis.call('GET', KEYS[3]) or ''
end
local out = {m[1], top, snapshot, from, text}
for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '(' .. from .. '-0', '+')) do
  out[#out + 1] = entry[2][2]
end
return out
`;

/** Lua: `now`, Redis's clock in milliseconds (one clock for every node's lease). */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Lua, after {@linkcode NOW} and with `prefix` set: drops the nodes whose
 * lease has ended from KEYS[1], with their connection sets and statistics.
 */
const DROP_DEAD_NODES = `
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('DEL', prefix .. dead .. ':conns', prefix .. dead .. ':stats')
  redis.call('ZREM', KEYS[1], dead)
end
`;

/**
 * Cluster-wide admission. KEYS: nodes (zset of node leases by expiry).
 * ARGV: node, member, max, ttlMs, prefix. Drops dead nodes (and their
 * connections), renews this node's lease, and adds `member` to this node's
 * set only while the live nodes hold fewer than `max`. 1 admitted, 0 full.
 */
export const ADMIT = NOW + `local prefix = ARGV[5]` + DROP_DEAD_NODES + `
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
local total = 0
for _, node in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  total = total + redis.call('SCARD', prefix .. node .. ':conns')
end
if total >= tonumber(ARGV[3]) then return 0 end
redis.call('SADD', prefix .. ARGV[1] .. ':conns', ARGV[2])
redis.call('PEXPIRE', prefix .. ARGV[1] .. ':conns', ARGV[4])
return 1
`;

/**
 * A node's heartbeat. KEYS: nodes. ARGV: node, ttlMs, prefix, then
 * field/value pairs of its statistics. Renews its lease, its connection set
 * and its statistics; drops dead nodes; returns every live node's
 * statistics as {node, field, value, field, value, …, '', …}.
 */
export const HEARTBEAT = NOW + `local prefix = ARGV[3]` + DROP_DEAD_NODES + `
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
local stats = {}
for i = 4, #ARGV do stats[#stats + 1] = ARGV[i] end
redis.call('DEL', prefix .. ARGV[1] .. ':stats')
if #stats > 0 then redis.call('HSET', prefix .. ARGV[1] .. ':stats', unpack(stats)) end
redis.call('PEXPIRE', prefix .. ARGV[1] .. ':stats', ttl)
redis.call('PEXPIRE', prefix .. ARGV[1] .. ':conns', ttl)
local out = {}
for _, node in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  out[#out + 1] = node
  for _, v in ipairs(redis.call('HGETALL', prefix .. node .. ':stats')) do out[#out + 1] = v end
  out[#out + 1] = ''
end
return out
`;

/**
 * Re-registers this node's connections after Redis lost them (a restart).
 * KEYS: nodes. ARGV: node, ttlMs, prefix, members…
 */
export const RESYNC = NOW + `
local set = ARGV[3] .. ARGV[1] .. ':conns'
redis.call('DEL', set)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
for i = 4, #ARGV do redis.call('SADD', set, ARGV[i]) end
redis.call('PEXPIRE', set, ARGV[2])
return 1
`;

/** KEYS: nodes. ARGV: node. 1 while the node holds its lease. */
export const NODE_ALIVE = NOW + `
local until_ = redis.call('ZSCORE', KEYS[1], ARGV[1])
if until_ and tonumber(until_) > now then return 1 end
return 0
`;
