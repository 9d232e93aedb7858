-- POST a pre-built JSON body to every request.
--   BENCH_BODY     file holding the body (required)
--   BENCH_LIMIT    optional: stop once this many responses have arrived
--   BENCH_HEADERS  optional: more headers, one "Name: value" a line (they win over Content-Type)
local file = assert(io.open(assert(os.getenv("BENCH_BODY"), "BENCH_BODY unset"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
for name, value in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^:\n]+):%s*([^\n]*)") do
  wrk.headers[name] = value
end

local limit = tonumber(os.getenv("BENCH_LIMIT") or "")
if limit then
  local seen = 0
  function response()
    seen = seen + 1
    if seen >= limit then
      wrk.thread:stop()
    end
  end
end
