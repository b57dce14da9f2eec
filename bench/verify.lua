-- wrk script: POST /v1/keys/verify for keys read from KEYS_FILE, cycling through them.
-- The requests are built once, in init: building a body per request in Lua, and a response()
-- callback (which makes wrk hand every response to Lua), cost wrk's core so much that wrk,
-- not the server, was the limit (~56,000 req/s against the constant-JSON baseline server
-- instead of ~78,000). So answers are checked only when CHECK=1 (run.sh's warm-up does).
local reqs = {}
local counter = 0

-- ACTIVE_KEYS (default: all) limits the traffic to the first N keys of the file: a gateway's
-- traffic comes from the keys in use, not from every key that exists.
function init(args)
  local path = os.getenv("KEYS_FILE") or "keys.txt"
  local active = tonumber(os.getenv("ACTIVE_KEYS") or "0")
  for line in io.lines(path) do
    if active > 0 and #reqs >= active then break end
    local body = '{"key":"' .. line .. '","endpoint":"/v1/chat","method":"POST","ip":"203.0.113.7"}'
    reqs[#reqs + 1] = wrk.format("POST", "/v1/keys/verify", {["Content-Type"] = "application/json"}, body)
  end
  counter = math.random(#reqs)
end

function request()
  counter = counter % #reqs + 1
  return reqs[counter]
end

if os.getenv("CHECK") == "1" then
  local invalid = 0
  function response(status, headers, body)
    if status ~= 200 or not body:find('"valid":true', 1, true) then invalid = invalid + 1 end
  end
  function done(summary, latency, requests)
    io.write(string.format("verify answers that were not VALID: %d\n", invalid))
  end
end
