-- Argo CD health of a DataScienceJobRun (ads-operator): Healthy once it succeeded,
-- Degraded once it failed, was canceled or can never run (Terminal), Suspended while it
-- waits for a slot under its namespace's active-run cap, Progressing otherwise.
-- Anything it does not recognise (no status yet, an unknown phase, an older operator's
-- status) is Progressing with a message, never a Lua error.
-- @common observe
local phase = status.phase
if is_true(status, "Terminal") then
  hs.status = "Degraded"
  hs.message = words(condition(status, "Terminal"), "The run can never start")
  return hs
end
if phase == "Succeeded" or is_true(status, "Succeeded") then
  hs.status = "Healthy"
  hs.message = words(condition(status, "Succeeded"), "The run succeeded")
  return hs
end
if phase == "Failed" or phase == "Canceled" or is_true(status, "Failed") then
  hs.status = "Degraded"
  hs.message = words(condition(status, "Failed"), "The run " .. tostring(phase or "failed"))
  return hs
end
local ready = condition(status, "Ready")
if ready ~= nil and ready.status == "False" and ready.reason == "WaitingForCapacity" then
  hs.status = "Suspended"
  hs.message = words(ready, "Waiting for a slot")
  return hs
end
if phase == "Pending" or phase == "Running" then
  hs.message = words(ready, "The run is " .. phase)
  if phase == "Running" and status.lifecycleState ~= nil then
    hs.message = "OCI job run " .. tostring(status.lifecycleState)
  end
  return hs
end
if phase ~= nil then
  hs.message = "Unknown phase " .. tostring(phase) .. "; waiting for the operator"
end
return hs
