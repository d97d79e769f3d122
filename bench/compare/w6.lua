-- wrk script for W6: /nearest at random points over the data's extent and a random benchmark
-- kind, or /coverage of a random service circle (whole, or its first page of 100 buildings).
local bbox = {}
for v in string.gmatch(os.getenv("W6_BBOX"), "[^,]+") do bbox[#bbox + 1] = tonumber(v) end
local kinds = {}
for v in string.gmatch(os.getenv("W6_KINDS"), "[^,]+") do kinds[#kinds + 1] = v end
local endpoint = os.getenv("W6_ENDPOINT") or "nearest"
local circles = { "government", "daily_life", "health", "culture_sports", "safety" }

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or 1)
end

request = function()
  local lon = bbox[1] + math.random() * (bbox[3] - bbox[1])
  local lat = bbox[2] + math.random() * (bbox[4] - bbox[2])
  local kind = kinds[math.random(#kinds)]
  local path
  if endpoint == "nearest" then
    path = string.format("/nearest?lon=%.7f&lat=%.7f&kind=%s&k=3", lon, lat, kind)
  elseif endpoint == "coverage_page" then
    -- what a map or a script asks: the summary, the per-grid breakdown and the first 100
    -- uncovered buildings of a random circle (the rest follows through the `next` link)
    path = "/coverage?circle=" .. circles[math.random(#circles)] .. "&limit=100"
  else
    -- the whole city's report for one of the five circles (walking, 10 minutes by default)
    path = "/coverage?circle=" .. circles[math.random(#circles)]
  end
  return wrk.format("GET", path)
end
