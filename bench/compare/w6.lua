-- wrk script for W6: random points over the data's extent, a random benchmark kind.
local bbox = {}
for v in string.gmatch(os.getenv("W6_BBOX"), "[^,]+") do bbox[#bbox + 1] = tonumber(v) end
local kinds = {}
for v in string.gmatch(os.getenv("W6_KINDS"), "[^,]+") do kinds[#kinds + 1] = v end
local endpoint = os.getenv("W6_ENDPOINT") or "nearest"

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
  end
  return wrk.format("GET", path)
end
