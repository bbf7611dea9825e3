"""The Redis frontier's Lua scripts. Each runs atomically on the Redis server, on its clock, so
every worker sees one host's slots and delay the same way.

All of a job's keys share the prefix `crawler:{JOB}` (KEYS[1] is `crawler:{JOB}:meta`); the hash
tag puts them in one Redis Cluster slot. Keys below the prefix:

- `meta` (hash): the job's politeness and budgets, set by `seed`.
- `seen:B` (set): fingerprints (signed 64-bit integers, so Redis keeps them as an intset) of
  bucket B = fingerprint % buckets.
- `q:ORIGIN` (list): queued entries of one host, `FP|JSON`.
- `h:ORIGIN` (hash): the host's active leases `a`, next start `n` (ms), delay `d`, floor delay
  `f` (its Crawl-delay or the job's delay), rules known `k`, last start `l`, URLs admitted `c`.
- `ready` (sorted set): hosts with a queued URL and a free slot, scored by their next start.
- `lease` (hash): fingerprint -> `ID<TAB>HELD<TAB>ORIGIN<TAB>ENTRY`; HELD is 1 while the lease
  still takes one of its host's slots (the fetch runs), 0 once released (the record is being
  stored). `deadline` (sorted set): fingerprint -> when the lease expires (ms).
- `stats` (hash): admitted, queued, done, reclaimed, seq (the last lease id).
- `qv:B` (hash): queries admitted per path (the query-variant trap), keyed by the path's
  fingerprint, in buckets B small enough for Redis's compact listpack encoding. `scope` (set):
  origins the seeds redirected to.
"""

PRELUDE = r"""
local META = KEYS[1]
local P = string.sub(META, 1, -6)
local STATS = P .. ':stats'
local READY = P .. ':ready'
local LEASE = P .. ':lease'
local DEADLINE = P .. ':deadline'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local m = redis.call('HMGET', META, 'per_host', 'delay_ms', 'start_delay_ms', 'hosts_known',
                     'max_pages', 'max_pages_per_host', 'max_query_variants')
if not m[1] then return redis.error_reply('NOJOB the job is not seeded') end
local PER_HOST, DELAY, START_DELAY = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
local KNOWN, MAX_PAGES, MAX_PER_HOST, MAX_QV = tonumber(m[4]), tonumber(m[5]), tonumber(m[6]),
                                                tonumber(m[7])

local FIELDS = {'a', 'n', 'd', 'f', 'k', 'l', 'c'}

-- A host's record, and what it held when read: `save` writes back only the fields that changed
-- (a new host's, all of them), since every write also costs the append-only file.
local function load(origin)
  local key = P .. ':h:' .. origin
  local v = redis.call('HMGET', key, 'a', 'n', 'd', 'f', 'k', 'l', 'c')
  local h
  if not v[1] then
    h = {a = 0, n = 0, d = START_DELAY, f = DELAY, k = KNOWN, l = 0, c = 0}
    return key, h, {}
  end
  h = {a = tonumber(v[1]), n = tonumber(v[2]), d = tonumber(v[3]), f = tonumber(v[4]),
       k = tonumber(v[5]), l = tonumber(v[6]), c = tonumber(v[7])}
  local was = {}
  for name, value in pairs(h) do was[name] = value end
  return key, h, was
end

local function save(key, h, was)
  local changed = {}
  for _, name in ipairs(FIELDS) do
    if was[name] ~= h[name] then
      changed[#changed + 1] = name
      changed[#changed + 1] = h[name]
    end
  end
  if #changed > 0 then redis.call('HSET', key, unpack(changed)) end
end

-- A host is in READY, scored by its next start, exactly while it has a queued URL and a free slot.
-- Written only when that changes.
local function slots_of(h)
  if h.k == 1 then return PER_HOST end
  return 1
end

local function schedule(origin, h)
  local score = redis.call('ZSCORE', READY, origin)
  if h.a < slots_of(h) and redis.call('LLEN', P .. ':q:' .. origin) > 0 then
    if not score or tonumber(score) ~= h.n then redis.call('ZADD', READY, h.n, origin) end
  elseif score then
    redis.call('ZREM', READY, origin)
  end
end

local function split_lease(v)
  return string.match(v, '^(%d+)\t(%d)\t([^\t]*)\t(.*)$')
end

-- Drop a lease; its URL is done (or goes back to the queue: `requeue` with its entry).
local function end_lease(fp, v, requeue, delay)
  local id, held, origin, entry = split_lease(v)
  redis.call('HDEL', LEASE, fp)
  redis.call('ZREM', DEADLINE, fp)
  if held ~= '1' and not requeue then return end  -- its host slot was freed already
  local key, h, was = load(origin)
  if held == '1' then h.a = h.a - 1 end
  if requeue then
    redis.call('LPUSH', P .. ':q:' .. origin, requeue)
    redis.call('HINCRBY', STATS, 'queued', 1)
    if now + delay > h.n then h.n = now + delay end
  end
  save(key, h, was)
  schedule(origin, h)
end

local function lease_matches(fp, id)
  local v = redis.call('HGET', LEASE, fp)
  if v and string.match(v, '^(%d+)') == id then return v end
  return nil
end
"""

# ARGV: count, then per URL: kind (a = add, p = mark pruned), fingerprint, seen bucket, origin,
# entry, query-variant counter 'BUCKET:PATH_FINGERPRINT' ('' = no query). Returns one character
# per URL: 1 queued or newly pruned, 0 seen or over --max-pages, h or q when the per-host or
# query-variant limit pruned it.
ADD = PRELUDE + r"""
local out = {}
local admitted = tonumber(redis.call('HGET', STATS, 'admitted') or '0')
local queued = 0
for i = 0, tonumber(ARGV[1]) - 1 do
  local b = 2 + i * 6
  local kind, fp, bucket, origin, entry, qv = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3],
                                               ARGV[b + 4], ARGV[b + 5]
  local seen = P .. ':seen:' .. bucket
  if kind == 'p' then
    out[i + 1] = tostring(redis.call('SADD', seen, fp))
  elseif redis.call('SISMEMBER', seen, fp) == 1 then
    out[i + 1] = '0'
  elseif MAX_PAGES > 0 and admitted >= MAX_PAGES then
    out[i + 1] = '0'
  else
    local key, h, was = load(origin)
    local variants, qv_key, qv_field = 0, nil, nil
    if qv ~= '' and MAX_QV > 0 then
      local qb, qf = string.match(qv, '^(%d+):(.+)$')
      qv_key, qv_field = P .. ':qv:' .. qb, qf
      variants = tonumber(redis.call('HGET', qv_key, qv_field) or '0')
    end
    redis.call('SADD', seen, fp)
    if MAX_PER_HOST > 0 and h.c >= MAX_PER_HOST then
      out[i + 1] = 'h'
    elseif qv ~= '' and MAX_QV > 0 and variants >= MAX_QV then
      out[i + 1] = 'q'
    else
      if qv_key then redis.call('HINCRBY', qv_key, qv_field, 1) end
      redis.call('RPUSH', P .. ':q:' .. origin, entry)
      h.c = h.c + 1
      admitted = admitted + 1
      queued = queued + 1
      save(key, h, was)
      schedule(origin, h)
      out[i + 1] = '1'
    end
  end
end
redis.call('HSET', STATS, 'admitted', admitted)
redis.call('HINCRBY', STATS, 'queued', queued)
return table.concat(out)
"""

# ARGV: want, lease ms, op count, then 5 values per op:
#   r FP ID - -              release: the fetch is over, free the host slot (the lease stays)
#   q FP ID ENTRY DELAY_MS   requeue: back to the head of its queue, the host waits DELAY_MS
#   p ORIGIN DELAY_MS - -    pause the host (Retry-After)
#   k ORIGIN FLOOR_MS - -    the host's robots.txt is read: all its slots, its Crawl-delay
#   d ORIGIN DELAY_MS - -    an adaptive delay (autothrottle), never below the floor
# Then reclaims expired leases and leases up to `want` URLs whose hosts may start now.
# Returns {pending, queued, ms until a host may start (-1: none waits on time), scope size,
#          FP, ID, ENTRY, ...}.
SYNC = PRELUDE + r"""
local want, lease_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 0, tonumber(ARGV[3]) - 1 do
  local b = 4 + i * 5
  local op, x, y, z = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  if op == 'r' then
    local v = lease_matches(x, y)
    if v then
      local id, held, origin, entry = split_lease(v)
      if held == '1' then
        redis.call('HSET', LEASE, x, id .. '\t0\t' .. origin .. '\t' .. entry)
        local key, h, was = load(origin)
        h.a = h.a - 1
        save(key, h, was)
        schedule(origin, h)
      end
    end
  elseif op == 'q' then
    local v = lease_matches(x, y)
    if v then end_lease(x, v, z, tonumber(ARGV[b + 4])) end
  else
    local key, h, was = load(x)
    local ms = tonumber(y)
    if op == 'p' then
      if now + ms > h.n then h.n = now + ms end
    elseif op == 'k' then
      h.k = 1
      if ms > h.f then h.f = ms end
      if h.f > h.d then h.d = h.f end
      if h.l + h.d > h.n then h.n = h.l + h.d end
    elseif op == 'd' then
      h.d = math.max(h.f, ms)
    end
    save(key, h, was)
    schedule(x, h)
  end
end

local expired = redis.call('ZRANGEBYSCORE', DEADLINE, '-inf', now, 'LIMIT', 0, 200)
for _, fp in ipairs(expired) do
  local v = redis.call('HGET', LEASE, fp)
  if v then
    local _, _, _, entry = split_lease(v)
    end_lease(fp, v, entry, 0)
    redis.call('HINCRBY', STATS, 'reclaimed', 1)
  else
    redis.call('ZREM', DEADLINE, fp)
  end
end

local out = {0, 0, -1, redis.call('SCARD', P .. ':scope')}
local taken = 0
local seq = tonumber(redis.call('HGET', STATS, 'seq') or '0')  -- lease ids: seq + 1, seq + 2...
while taken < want do
  local top = redis.call('ZRANGE', READY, 0, 0, 'WITHSCORES')
  if #top == 0 then break end
  local origin, start = top[1], tonumber(top[2])
  if start > now then
    out[3] = start - now
    break
  end
  local key, h, was = load(origin)
  local entry = nil
  if h.a < slots_of(h) then  -- READY says so; checked again, as no host may go over its slots
    entry = redis.call('LPOP', P .. ':q:' .. origin)
  end
  if entry then
    local fp = string.match(entry, '^([^|]*)|')
    local id = seq + taken + 1
    redis.call('HSET', LEASE, fp, id .. '\t1\t' .. origin .. '\t' .. entry)
    redis.call('ZADD', DEADLINE, now + lease_ms, fp)
    h.a = h.a + 1
    h.l = now
    h.n = now + h.d
    save(key, h, was)
    out[#out + 1] = fp
    out[#out + 1] = id
    out[#out + 1] = entry
    taken = taken + 1
  end
  schedule(origin, h)
end
if taken > 0 then
  redis.call('HSET', STATS, 'seq', seq + taken)
  redis.call('HINCRBY', STATS, 'queued', -taken)
end
if taken == want and out[3] == -1 then out[3] = 0 end
local queued = tonumber(redis.call('HGET', STATS, 'queued') or '0')
out[1] = queued + redis.call('HLEN', LEASE)
out[2] = queued
return out
"""

# ARGV: pairs of fingerprint, lease id. The records are stored: the leases end. Returns how many
# were still held (a lease that expired and went to another worker is left to that worker).
ACK = PRELUDE + r"""
local acked = 0
for i = 1, #ARGV, 2 do
  local v = lease_matches(ARGV[i], ARGV[i + 1])
  if v then
    end_lease(ARGV[i], v, nil, 0)
    acked = acked + 1
  end
end
redis.call('HINCRBY', STATS, 'done', acked)
return acked
"""

# ARGV: lease ms, then pairs of fingerprint, lease id: push the deadlines of leases still held.
RENEW = PRELUDE + r"""
local renewed = 0
for i = 2, #ARGV, 2 do
  if lease_matches(ARGV[i], ARGV[i + 1]) then
    redis.call('ZADD', DEADLINE, 'XX', now + tonumber(ARGV[1]), ARGV[i])
    renewed = renewed + 1
  end
end
return renewed
"""
