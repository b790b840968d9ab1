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

local function is_true(status, kind)
  local c = condition(status, kind)
  return c ~= nil and c.status == "True"
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
  hs.message = "Waiting for the operator to @VERB@ generation " .. tostring(meta.generation)
  return hs
end

