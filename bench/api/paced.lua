-- wrk script: a constant request rate, as wrk2 does it (wrk2 is not packaged in Debian 12).
--   wrk -t1 -c32 -d20s -s paced.lua URL -- RATE [PATHS_FILE]     (RATE 0: as fast as it answers)
-- Requests are spread evenly over time: each connection, once free, claims the next slot of one
-- schedule and waits for it. A request that starts after its slot (every connection was busy) is
-- counted as late: the rate was not held, and its queueing is missing from wrk's latencies.
-- done() prints one JSON line for bench/api/run.py.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } paced_timespec;
int clock_gettime(int clock_id, paced_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("paced_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local rate = tonumber(args[1])
  interval_ms = rate > 0 and 1000 / rate or nil
  paths = {}
  if args[2] then
    for line in io.lines(args[2]) do paths[#paths + 1] = line end
  end
  late = 0
end

function delay()
  if not interval_ms then return 0 end
  local now = now_ms()
  next_slot = (next_slot or now) + interval_ms
  local wait = next_slot - now
  if wait < -1 then late = late + 1 end
  return math.max(0, wait)
end

function request()
  if #paths > 0 then return wrk.format(nil, paths[math.random(#paths)]) end
  return wrk.format()
end

function done(summary, latency, requests)
  local late_total = 0
  for _, thread in ipairs(threads) do late_total = late_total + thread:get("late") end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"socket_errors": %d, "http_errors": %d, "late": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status, late_total))
end
