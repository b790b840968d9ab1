-- Argo CD health of a DataScienceJob (ads-operator): Healthy while its OCI job is ACTIVE
-- and matches the current spec, Degraded while the spec can never work (Terminal),
-- Progressing otherwise (being created, a spec edit not reconciled yet, a failing pass
-- that will be retried). Anything it does not recognise (no status yet, an older
-- operator's status) is Progressing with a message, never a Lua error.
local hs = { status = "Progressing", message = "Waiting for the operator to report status" }

local function condition(status, kind)
  if type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and c.type == kind then
      return c
    end
  end
  return nil
end

local function words(c, fallback)
  if c == nil then
    return fallback
  end
  local reason = tostring(c.reason or "")
  local message = tostring(c.message or "")
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= "" then
    return message
  end
  if reason ~= "" then
    return reason
  end
  return fallback
end

local status = obj.status
if type(status) ~= "table" then
  return hs
end
local meta = obj.metadata or {}
if status.observedGeneration ~= nil and meta.generation ~= nil
    and status.observedGeneration ~= meta.generation then
  hs.message = "Waiting for the operator to reconcile generation " .. tostring(meta.generation)
  return hs
end

local terminal = condition(status, "Terminal")
if terminal ~= nil and terminal.status == "True" then
  hs.status = "Degraded"
  hs.message = words(terminal, "The spec can never work")
  return hs
end
local ready = condition(status, "Ready")
local synced = condition(status, "Synced")
if synced ~= nil and synced.status == "False" then
  hs.message = words(synced, "The operator is retrying")
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = "OCI job " .. tostring(status.lifecycleState or "ACTIVE")
  return hs
end
if ready ~= nil then
  hs.message = words(ready, "The OCI job is not ACTIVE yet")
end
return hs
