-- Headless Neovim end-to-end check, driven by tests/tests/neovim_e2e.rs.
-- Env: CLNRM_REPO (repository root), CLNRM_LSP_BIN (server), CLNRM_FIXTURE (file to
-- open), CLNRM_RESULT (where to write what Neovim saw).
local repo = os.getenv("CLNRM_REPO")
local result_path = os.getenv("CLNRM_RESULT")
vim.opt.runtimepath:prepend(repo .. "/editors/neovim")

local out = {}
local function finish(code)
  local f = io.open(result_path, "w")
  f:write(table.concat(out, "\n") .. "\n")
  f:close()
  vim.cmd((code == 0) and "qa!" or "cquit " .. code)
end

local ok, err = pcall(function()
  local clnrm = require("clnrm")
  clnrm.setup({
    cmd = { os.getenv("CLNRM_LSP_BIN"), "--stdio" },
    -- Not a container test: the module's default `auto` would pick any docker or podman
    -- that happens to answer on this machine.
    settings = { executor = { backend = "local" } },
  })
  vim.cmd("edit " .. os.getenv("CLNRM_FIXTURE"))
  table.insert(out, "filetype " .. vim.bo.filetype)
  local got = vim.wait(15000, function()
    return #vim.diagnostic.get(0) > 0
  end, 50)
  if not got then
    table.insert(out, "timeout: no diagnostics")
    return
  end
  for _, d in ipairs(vim.diagnostic.get(0)) do
    -- Rows and columns as Neovim stores them (0-based), plus what the server sent.
    table.insert(out, string.format("diagnostic %d %d %s %s", d.lnum, d.col, d.source or "", tostring(d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code) or "")))
  end
  local clients = vim.lsp.get_active_clients()
  table.insert(out, "clients " .. #clients .. " " .. (clients[1] and clients[1].name or ""))
end)
if not ok then
  table.insert(out, "error " .. tostring(err))
end
finish(0)
