-- Argo CD health of a DataScienceJob (ads-operator): Healthy while its OCI job is ACTIVE
-- and matches the current spec, Degraded while the spec can never work (Terminal),
-- Progressing otherwise (being created, a spec edit not reconciled yet, a failing pass
-- that will be retried). Anything it does not recognise (no status yet, an older
-- operator's status) is Progressing with a message, never a Lua error.
-- @common reconcile
if is_true(status, "Terminal") then
  hs.status = "Degraded"
  hs.message = words(condition(status, "Terminal"), "The spec can never work")
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
