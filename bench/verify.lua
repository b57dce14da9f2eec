-- wrk script: POST /v1/keys/verify for keys read from KEYS_FILE, cycling through them.
local keys = {}
local counter = 0

-- ACTIVE_KEYS (default: all) limits the traffic to the first N keys of the file: a gateway's
-- traffic comes from the keys in use, not from every key that exists.
function init(args)
  local path = os.getenv("KEYS_FILE") or "keys.txt"
  local active = tonumber(os.getenv("ACTIVE_KEYS") or "0")
  for line in io.lines(path) do
    if active > 0 and #keys >= active then break end
    keys[#keys + 1] = line
  end
  counter = math.random(#keys)
end

function request()
  counter = counter % #keys + 1
  local body = '{"key":"' .. keys[counter] .. '","endpoint":"/v1/chat","method":"POST","ip":"203.0.113.7"}'
  return wrk.format("POST", "/v1/keys/verify", {["Content-Type"] = "application/json"}, body)
end

local invalid = 0
function response(status, headers, body)
  if status ~= 200 or not body:find('"valid":true', 1, true) then invalid = invalid + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("verify answers that were not VALID: %d\n", invalid))
end
