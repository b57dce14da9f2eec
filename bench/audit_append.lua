-- wrk script: POST one host event per request to /v1/workspaces/{ws}/audit-logs with a
-- secret key (AUDIT_PATH and BENCH_KEY from the environment).
local path = os.getenv("AUDIT_PATH")
local key = os.getenv("BENCH_KEY")
local n = 0

function request()
  n = n + 1
  local body = '{"action":"report.exported","target":{"type":"report","id":"rep_' .. n ..
               '","name":"Weekly"},"details":{"rows":' .. n .. '}}'
  return wrk.format("POST", path, {["Content-Type"] = "application/json",
                                   ["Authorization"] = "Bearer " .. key}, body)
end

local failed = 0
function response(status, headers, body)
  if status ~= 201 and status ~= 200 then failed = failed + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("appends that failed: %d\n", failed))
end
