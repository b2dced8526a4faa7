-- Headless Neovim: :write a test file, then the run lens ("✓ passed …") and the
-- `clnrm-run` diagnostic appear. Driven by tests/tests/neovim_e2e.rs (same env as
-- diagnostics.lua).
local repo = os.getenv("CLNRM_REPO")
local result_path = os.getenv("CLNRM_RESULT")
vim.opt.runtimepath:prepend(repo .. "/editors/neovim")

local out = {}
local function finish()
  local f = io.open(result_path, "w")
  f:write(table.concat(out, "\n") .. "\n")
  f:close()
  vim.cmd("qa!")
end

local function lens_titles()
  local titles = {}
  for _, lens in ipairs(vim.lsp.codelens.get(0) or {}) do
    if lens.command and lens.command.title then
      table.insert(titles, lens.command.title)
    end
  end
  return titles
end

local ok, err = pcall(function()
  require("clnrm").setup({
    cmd = { os.getenv("CLNRM_LSP_BIN"), "--stdio" },
    -- Not a container test: the module's default `auto` would pick any docker or podman
    -- that happens to answer on this machine.
    settings = { executor = { backend = "local" } },
  })
  vim.cmd("edit " .. os.getenv("CLNRM_FIXTURE"))
  local attached = vim.wait(15000, function()
    return #vim.lsp.buf_get_clients(0) > 0 and #lens_titles() > 0
  end, 50, false)
  if not attached then
    -- Lenses are requested on attach; ask again in case the first came too early.
    vim.lsp.codelens.refresh()
    vim.wait(5000, function() return #lens_titles() > 0 end, 50)
  end
  table.insert(out, "before " .. table.concat(lens_titles(), " | "))
  vim.cmd("write")
  -- No polling: the lenses must be redrawn through the server's workspace/codeLens/refresh.
  local passed = vim.wait(20000, function()
    for _, t in ipairs(lens_titles()) do
      if t:find("passed", 1, true) then
        return true
      end
    end
    return false
  end, 200)
  table.insert(out, "after " .. table.concat(lens_titles(), " | "))
  if not passed then
    table.insert(out, "timeout: no passed lens")
  end
  vim.wait(10000, function()
    for _, d in ipairs(vim.diagnostic.get(0)) do
      if d.source == "clnrm-run" then
        return true
      end
    end
    return false
  end, 50)
  for _, d in ipairs(vim.diagnostic.get(0)) do
    table.insert(out, string.format("diagnostic %d %s %s", d.lnum, d.source or "", d.message:gsub("\n", " ")))
  end
end)
if not ok then
  table.insert(out, "error " .. tostring(err))
end
finish()
