-- wrk script of bench/run.sh's "mixed" serving case: each request GETs the
-- next path of MIXED_LIST (one URL path a line, about 200 stored images of
-- 5 kB to 2 MB), cycling; each wrk thread starts at a different place.
local paths = {}
for line in io.lines(os.getenv("MIXED_LIST")) do
  if line ~= "" then paths[#paths + 1] = line end
end
local threads = 0
function setup(thread)
  thread:set("start", threads * 97)
  threads = threads + 1
end
local i = 0
function init(args)
  i = tonumber(wrk.thread:get("start")) or 0
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
