-- Headless Neovim: :write two test files (one passing, one with an unmet expectation);
-- the `clnrm/runResult`s reach the plugin: :ClnrmQuickfix lists the failure at the
-- expectation's line and :ClnrmTestSummary shows file → scenario → state. Driven by
-- tests/tests/neovim_e2e.rs (CLNRM_FIXTURE is the passing file, CLNRM_FIXTURE2 the other).
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

local function verdict(clnrm, scenario)
  for _, by_name in pairs(clnrm.results) do
    local r = by_name[scenario]
    if r and r.state ~= "queued" and r.state ~= "running" then
      return r
    end
  end
  return nil
end

local ok, err = pcall(function()
  local clnrm = require("clnrm")
  clnrm.setup({
    cmd = { os.getenv("CLNRM_LSP_BIN"), "--stdio" },
    settings = { executor = { backend = "local" } },
  })
  for _, file in ipairs({ os.getenv("CLNRM_FIXTURE"), os.getenv("CLNRM_FIXTURE2") }) do
    vim.cmd("edit " .. file)
    vim.wait(15000, function() return #vim.lsp.buf_get_clients(0) > 0 end, 50)
    vim.cmd("write")
  end
  local done = vim.wait(30000, function()
    return verdict(clnrm, "hello") ~= nil and verdict(clnrm, "counts") ~= nil
  end, 100)
  if not done then
    table.insert(out, "timeout: no verdicts")
  end
  vim.cmd("ClnrmQuickfix")
  for _, item in ipairs(vim.fn.getqflist()) do
    table.insert(out, string.format("qf %s %d %s", vim.fn.fnamemodify(vim.fn.bufname(item.bufnr), ":t"), item.lnum, item.text))
  end
  vim.cmd("ClnrmTestSummary")
  table.insert(out, "summary-buffer " .. vim.api.nvim_buf_get_name(0))
  for _, line in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
    table.insert(out, "summary " .. line)
  end
end)
if not ok then
  table.insert(out, "error " .. tostring(err))
end
finish()
