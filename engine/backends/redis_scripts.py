"""The Lua scripts of the Redis backend (`redis.py`), kept apart so the backend reads as Python.

Each script runs atomically in Redis; see `docs/redis-backend.md` for the keys they touch.
"""

# Due delayed jobs moved into a stream per fetch (the rest follow on the next fetch).
PROMOTE_LIMIT = 1000

# -- Lua ---------------------------------------------------------------------------------------
# Arguments are few and replies are one string per batch because, at batch sizes of 100,
# packing arguments and parsing replies in redis-py costs more than Redis's own work.
#
# KEYS: the distinct keys of the batch (streams, delayed zsets, dedup keys).
# ARGV: per request a header and its envelope. Header '<k>': XADD to KEYS[k]; otherwise
#       '<k> <score|-> <dedup key index|-> <dedup ttl ms|-> <job id>' (a score: ZADD to the
#       delayed zset KEYS[k]; a dedup key: SET NX PX first, and nothing if it exists).
# Returns one character per request: '1' created, '0' suppressed by its dedup key.
ENQUEUE_LUA = """
local out = {}
for i = 1, #ARGV, 2 do
  local target, score, dedup, ttl, id = ARGV[i], '-', '-', '-', '-'
  if string.find(target, ' ', 1, true) then
    target, score, dedup, ttl, id = string.match(ARGV[i], '^(%d+) (%S+) (%S+) (%S+) (%S+)$')
  end
  local ok = true
  if dedup ~= '-' then
    ok = redis.call('SET', KEYS[tonumber(dedup)], id, 'NX', 'PX', ttl)
  end
  if ok then
    if score == '-' then
      redis.call('XADD', KEYS[tonumber(target)], '*', 'j', ARGV[i + 1])
    else
      redis.call('ZADD', KEYS[tonumber(target)], score, ARGV[i + 1])
    end
    out[#out + 1] = '1'
  else
    out[#out + 1] = '0'
  end
end
return table.concat(out)
"""

# KEYS: stream, delayed zset.
# ARGV: group, consumer, count, now, housekeeping (0/1), max lease ms, autoclaim cursor,
#       lease idle ms (= max lease - visibility timeout, see _lease_idle).
# Returns one string of lines (envelopes are JSON, which has no raw newlines): cursor, next due
# score or '', n claimed, (id, deliveries, envelope) * n claimed, (id, envelope) * n fresh.
FETCH_LUA = (
    """
local stream, delayed = KEYS[1], KEYS[2]
local group, consumer = ARGV[1], ARGV[2]
local count = tonumber(ARGV[3])
local out = {ARGV[7], '', '0'}
local claimed = 0
local ids = {}
if ARGV[5] == '1' then
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', ARGV[4], 'LIMIT', 0, """
    + str(PROMOTE_LIMIT)
    + """)
  for i = 1, #due do
    redis.call('XADD', stream, '*', 'j', due[i])
    redis.call('ZREM', delayed, due[i])
  end
  local first = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  if first[2] then out[2] = first[2] end
  local r = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[6], ARGV[7], 'COUNT', count)
  out[1] = r[1]
  for _, e in ipairs(r[2]) do
    if e[2] then
      local p = redis.call('XPENDING', stream, group, e[1], e[1], 1)
      out[#out + 1] = e[1]
      out[#out + 1] = tostring(p[1][4])
      out[#out + 1] = e[2][2]
      claimed = claimed + 1
      ids[#ids + 1] = e[1]
    end
  end
end
out[3] = tostring(claimed)
local rest = count - claimed
if rest > 0 then
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', rest, 'STREAMS', stream, '>')
  if r then
    for _, e in ipairs(r[1][2]) do
      out[#out + 1] = e[1]
      out[#out + 1] = e[2][2]
      ids[#ids + 1] = e[1]
    end
  end
end
if ARGV[8] ~= '0' then
  for i = 1, #ids, 500 do
    local claim = {'XCLAIM', stream, group, consumer, 0}
    for j = i, math.min(i + 499, #ids) do claim[#claim + 1] = ids[j] end
    claim[#claim + 1] = 'IDLE'
    claim[#claim + 1] = ARGV[8]
    claim[#claim + 1] = 'JUSTID'
    redis.call(unpack(claim))
  end
end
return table.concat(out, '\\n')
"""
)

# Renew leases only of entries still owned by this consumer: a job already taken over by
# another worker stays with it. XCLAIM ... IDLE ... JUSTID sets the lease (see _lease_idle)
# without counting a delivery. KEYS: stream. ARGV: group, consumer, lease idle ms, entry ids.
# Returns how many were renewed.
EXTEND_LUA = """
local n = 0
for i = 4, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
    n = n + 1
  end
end
return n
"""

# Done jobs leave the PEL and the stream together (a stream holds only undelivered and
# running jobs, so XLEN - pending is the depth). KEYS: streams.
# ARGV: group, then per stream its entry ids separated by spaces.
ACK_LUA = """
for k = 1, #KEYS do
  local ids = {}
  for id in string.gmatch(ARGV[k + 1], '%S+') do ids[#ids + 1] = id end
  for i = 1, #ids, 500 do
    local j = math.min(i + 499, #ids)
    redis.call('XACK', KEYS[k], ARGV[1], unpack(ids, i, j))
    redis.call('XDEL', KEYS[k], unpack(ids, i, j))
  end
end
return 1
"""

# KEYS: stream, dead hash, dead index zset, dead count hash.
# ARGV: group, entry id, job id, record, failed_at, queue.
DEAD_LUA = """
if ARGV[2] ~= '' then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
end
if redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) == 1 then
  redis.call('HINCRBY', KEYS[4], ARGV[6], 1)
end
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
return 1
"""

# KEYS: dead hash, dead index, dead count, then the streams.
# ARGV: per letter 4 values: job id, queue, index of its stream in KEYS, envelope.
# Only letters still present are replayed, so concurrent replays never duplicate a job.
REPLAY_LUA = """
local n = 0
for i = 1, #ARGV, 4 do
  if redis.call('HDEL', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('HINCRBY', KEYS[3], ARGV[i + 1], -1)
    redis.call('XADD', KEYS[tonumber(ARGV[i + 2])], '*', 'j', ARGV[i + 3])
    n = n + 1
  end
end
return n
"""

# Forget consumers (worker ids) that hold no jobs and were not seen for a long time, so groups
# do not collect one consumer per worker process ever started. KEYS: streams.
# ARGV: group, idle ms. Returns how many were removed.
PRUNE_CONSUMERS_LUA = """
local removed = 0
for _, stream in ipairs(KEYS) do
  local consumers = redis.pcall('XINFO', 'CONSUMERS', stream, ARGV[1])
  if type(consumers) == 'table' and not consumers.err then
    for _, c in ipairs(consumers) do
      local f = {}
      for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
      if f['pending'] == 0 and f['idle'] > tonumber(ARGV[2]) then
        redis.call('XGROUP', 'DELCONSUMER', stream, ARGV[1], f['name'])
        removed = removed + 1
      end
    end
  end
end
return removed
"""

# KEYS: tick key, last-tick key. ARGV: owner, ttl ms, tick.
CRON_LUA = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local last = redis.call('GET', KEYS[2])
  if (not last) or tonumber(last) < tonumber(ARGV[3]) then
    redis.call('SET', KEYS[2], ARGV[3])
  end
  return 1
end
return 0
"""

LOCK_EXTEND_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

LOCK_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
