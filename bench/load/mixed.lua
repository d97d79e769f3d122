-- wrk script: 95% reads, 5% writes against the demo (issue 8 load check).
-- Reads: locate, nearest (crow-fly and on foot), buildings in a box, grid detail, kinds.
-- Writes: create a shared toilet (admin token from $TOKEN). Every acknowledged create (201)
-- is counted and its id kept, so run.sh can check that none was lost.

local token = os.getenv("TOKEN") or ""
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  statuses = { s2 = 0, s4 = 0, s5 = 0, other = 0 }
  acked = ""
  acked_n = 0
  writes = 0
end

local function lon() return 118.770 + math.random() * 0.020 end
local function lat() return 32.035 + math.random() * 0.015 end
local kinds = { "toilet", "drinking_water", "clinic", "reading_room", "pharmacy", "convenience" }

request = function()
  local r = math.random(100)
  if r <= 5 then
    writes = writes + 1
    counter = counter + 1
    local body = string.format(
      '{"type":"Feature","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},"properties":{"kind":"toilet","name":"压测厕所-%d-%d","owner":"压测单位","opening_hours":"Mo-Fr 08:00-18:00; PH off","shared":true}}',
      lon(), lat(), tid or 0, counter)
    return wrk.format("POST", "/collections/facilities/items",
      { ["Content-Type"] = "application/geo+json", ["Authorization"] = "Bearer " .. token }, body)
  elseif r <= 35 then
    return wrk.format("GET", string.format("/locate?lon=%.6f&lat=%.6f", lon(), lat()))
  elseif r <= 65 then
    return wrk.format("GET", string.format("/nearest?lon=%.6f&lat=%.6f&kind=%s&k=5", lon(), lat(), kinds[math.random(#kinds)]))
  elseif r <= 75 then
    return wrk.format("GET", string.format("/nearest?lon=%.6f&lat=%.6f&kind=toilet&k=3&mode=walk&open_now=true", lon(), lat()))
  elseif r <= 90 then
    local x, y = lon(), lat()
    return wrk.format("GET", string.format("/collections/buildings/items?bbox=%.5f,%.5f,%.5f,%.5f&limit=20", x, y, x + 0.003, y + 0.003))
  elseif r <= 98 then
    return wrk.format("GET", string.format("/grids/%d", math.random(1, 140)))
  else
    return wrk.format("GET", "/kinds")
  end
end

response = function(status, headers, body)
  if status >= 200 and status < 300 then
    statuses.s2 = statuses.s2 + 1
    if status == 201 then
      local id = string.match(body, '"id":(%d+)')
      if id then
        acked = acked .. id .. ","
        acked_n = acked_n + 1
      end
    end
  elseif status >= 500 then
    statuses.s5 = statuses.s5 + 1
  elseif status >= 400 then
    statuses.s4 = statuses.s4 + 1
  else
    statuses.other = statuses.other + 1
  end
end

done = function(summary, latency, requests)
  local s2, s4, s5, writes_total, acked_total = 0, 0, 0, 0, 0
  local f = io.open(os.getenv("ACKED_FILE") or "/dev/null", "w")
  for _, t in ipairs(threads) do
    local st = t:get("statuses")
    s2, s4, s5 = s2 + st.s2, s4 + st.s4, s5 + st.s5
    writes_total = writes_total + t:get("writes")
    acked_total = acked_total + t:get("acked_n")
    f:write(t:get("acked"))
  end
  f:close()
  io.write(string.format("RESULT requests=%d duration_s=%.1f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f status_2xx=%d status_4xx=%d status_5xx=%d socket_errors=%d writes_sent=%d writes_acked=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    s2, s4, s5, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    writes_total, acked_total))
end
