-- clnrm-lsp for Neovim (0.7 and later): filetype detection, the language server,
-- code lens display and refresh, and commands for the scenario under the cursor.
--
--   require("clnrm").setup({ cmd = { "clnrm-lsp", "--stdio" } })
--
-- With nvim-lspconfig instead: require("clnrm").lspconfig() then
-- require("lspconfig").clnrm.setup({}).

local M = {}

M.defaults = {
  cmd = { "clnrm-lsp", "--stdio" },
  -- Sent as initializationOptions and answered to workspace/configuration ("clnrm").
  settings = {
    runOnSave = true,
    executor = { workers = 0, backend = "auto" },
  },
  -- Extra environment for the server, e.g. { CLNRM_LSP_LOG = "debug" }.
  cmd_env = nil,
  on_attach = nil,
  root_markers = { ".clnrm", ".git" },
  -- Refill the quickfix list with the failures after each scenario's verdict (not opened).
  quickfix_on_result = true,
}

M.config = vim.deepcopy(M.defaults)

local has_08 = vim.fn.has("nvim-0.8") == 1

--- Whether `name` is a clnrm template.
function M.is_clnrm_file(name)
  return name:match("%.clnrm%.toml$") ~= nil or name:match("%.clnrm%.toml%.tera$") ~= nil
end

local function find_root(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while dir and dir ~= "" do
    for _, marker in ipairs(M.config.root_markers) do
      if vim.fn.isdirectory(dir .. "/" .. marker) == 1 or vim.fn.filereadable(dir .. "/" .. marker) == 1 then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      break
    end
    dir = parent
  end
  return vim.fn.fnamemodify(path, ":p:h")
end

--- The client capabilities, plus code lens refresh (handled below; Neovim < 0.10 does not
--- advertise it).
function M.capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.workspace = caps.workspace or {}
  caps.workspace.codeLens = { refreshSupport = true }
  return caps
end

local function client_config(root)
  return {
    name = "clnrm",
    cmd = M.config.cmd,
    cmd_env = M.config.cmd_env,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") } },
    init_options = M.config.settings,
    settings = { clnrm = M.config.settings },
    capabilities = M.capabilities(),
    handlers = {
      ["clnrm/runResult"] = function(_, params)
        M.on_run_result(params)
        return vim.NIL
      end,
      -- Run results arrive after the save: the server asks for the lenses to be redrawn.
      ["workspace/codeLens/refresh"] = function()
        vim.lsp.codelens.refresh()
        return vim.NIL
      end,
      ["workspace/configuration"] = function(_, params)
        local out = {}
        for _, item in ipairs(params.items or {}) do
          table.insert(out, item.section == "clnrm" and M.config.settings or vim.NIL)
        end
        return out
      end,
    },
    on_attach = function(client, bufnr)
      M._on_attach(client, bufnr)
      if M.config.on_attach then
        M.config.on_attach(client, bufnr)
      end
    end,
  }
end

local function supports_codelens(client)
  local caps = client.server_capabilities or client.resolved_capabilities or {}
  return caps.codeLensProvider ~= nil and caps.codeLensProvider ~= false or caps.code_lens == true
end

function M._on_attach(client, bufnr)
  if supports_codelens(client) then
    vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "BufWritePost", "CursorHold" }, {
      buffer = bufnr,
      callback = function()
        vim.lsp.codelens.refresh()
      end,
    })
    vim.lsp.codelens.refresh()
  end
end

-- One client per root, reused by every buffer under it.
local clients = {}

--- Start (or reuse) the server for `bufnr`.
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root = find_root(name)
  if has_08 then
    local cfg = client_config(root)
    cfg.reuse_client = function(client, conf)
      return client.name == conf.name and client.config.root_dir == conf.root_dir
    end
    return vim.lsp.start(cfg, { bufnr = bufnr })
  end
  local id = clients[root]
  if not id or not vim.lsp.get_client_by_id(id) then
    id = vim.lsp.start_client(client_config(root))
    clients[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- The name of the `[[scenario]]` the cursor is in (nearest header above, then its name).
function M.scenario_at_cursor(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local row = vim.api.nvim_win_get_cursor(0)[1]
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local header
  for i = row, 1, -1 do
    local l = lines[i]
    if l:match("^%s*%[%[scenario%]%]") then
      header = i
      break
    elseif l:match("^%s*%[") and not l:match("^%s*%[%[scenario%.") then
      return nil
    end
  end
  if not header then
    return nil
  end
  for i = header + 1, #lines do
    local l = lines[i]
    if l:match("^%s*%[") and not l:match("^%s*%[%[scenario%.") then
      break
    end
    local name = l:match('^%s*name%s*=%s*"([^"]*)"') or l:match("^%s*name%s*=%s*'([^']*)'")
    if name then
      return name
    end
  end
  return nil
end

local function execute(command, with_scenario)
  local bufnr = vim.api.nvim_get_current_buf()
  local args = { vim.uri_from_bufnr(bufnr) }
  if with_scenario then
    local name = M.scenario_at_cursor(bufnr)
    if not name then
      vim.notify("clnrm: the cursor is not inside a [[scenario]]", vim.log.levels.WARN)
      return
    end
    table.insert(args, name)
  end
  vim.lsp.buf_request(bufnr, "workspace/executeCommand", { command = command, arguments = args }, function(err, result)
    if err then
      vim.notify("clnrm: " .. (err.message or tostring(err)), vim.log.levels.ERROR)
      return
    end
    if type(result) == "string" and result ~= "" then
      -- A trace diff comes back as text: show it in a scratch buffer.
      vim.cmd("botright new")
      local buf = vim.api.nvim_get_current_buf()
      vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(result, "\n"))
      vim.bo[buf].buftype = "nofile"
      vim.bo[buf].filetype = "markdown"
    end
    vim.lsp.codelens.refresh()
  end)
end

function M.run_scenario()
  execute("clnrm.runScenario", true)
end

function M.run_file()
  execute("clnrm.runFile", false)
end

function M.show_trace_diff()
  execute("clnrm.showTraceDiff", true)
end

function M.update_baseline()
  execute("clnrm.updateBaseline", true)
end

--- Run results (`clnrm/runResult`), by file uri then scenario name: the latest state of
--- each scenario, whoever started the run (save, lens, command).
M.results = {}

local VERDICT = { passed = true, failed = true, errored = true, skipped = true }

function M.on_run_result(params)
  if type(params) ~= "table" or type(params.uri) ~= "string" or type(params.scenario) ~= "string" then
    return
  end
  M.results[params.uri] = M.results[params.uri] or {}
  M.results[params.uri][params.scenario] = params
  if VERDICT[params.state] and M.config.quickfix_on_result then
    M.quickfix(false)
  end
end

local function sorted_keys(t)
  local keys = vim.tbl_keys(t)
  table.sort(keys)
  return keys
end

--- The failures of the latest results as quickfix items: each unmet expectation at its
--- line, a failure without one at the top of its file.
function M.quickfix_items()
  local items = {}
  for _, uri in ipairs(sorted_keys(M.results)) do
    local filename = vim.uri_to_fname(uri)
    for _, name in ipairs(sorted_keys(M.results[uri])) do
      local r = M.results[uri][name]
      if r.state == "failed" or r.state == "errored" then
        local failures = type(r.failures) == "table" and r.failures or {}
        if #failures == 0 then
          local msg = r.message ~= vim.NIL and r.message or r.state
          table.insert(items, { filename = filename, lnum = 1, col = 1, type = "E", text = "[" .. name .. "] " .. tostring(msg) })
        end
        for _, f in ipairs(failures) do
          table.insert(items, {
            filename = filename,
            lnum = f.range.start.line + 1,
            col = f.range.start.character + 1,
            type = "E",
            text = "[" .. name .. "] " .. f.message,
          })
        end
      end
    end
  end
  return items
end

--- Fill the quickfix list with the run failures (`:ClnrmQuickfix` also opens it).
function M.quickfix(open)
  vim.fn.setqflist({}, " ", { title = "clnrm failures", items = M.quickfix_items() })
  if open then
    vim.cmd("copen")
  end
end

local SYMBOL = { passed = "✓", failed = "✗", errored = "!", skipped = "-", queued = "…", running = "⏳" }

--- The summary's lines: file, then per scenario its state, duration and whether cached.
function M.summary_lines()
  local lines = {}
  for _, uri in ipairs(sorted_keys(M.results)) do
    table.insert(lines, vim.fn.fnamemodify(vim.uri_to_fname(uri), ":~:."))
    for _, name in ipairs(sorted_keys(M.results[uri])) do
      local r = M.results[uri][name]
      local line = string.format("  %s %s  %s", SYMBOL[r.state] or "?", name, r.state)
      if type(r.durationMs) == "number" then
        line = line .. string.format("  %d ms", r.durationMs)
      end
      if r.cached == true then
        line = line .. "  (cached)"
      end
      table.insert(lines, line)
    end
  end
  if #lines == 0 then
    lines = { "No clnrm run results yet." }
  end
  return lines
end

--- `:ClnrmTestSummary`: the results in a scratch buffer.
function M.test_summary()
  vim.cmd("botright new")
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_option(buf, "buftype", "nofile")
  vim.api.nvim_buf_set_option(buf, "bufhidden", "wipe")
  vim.api.nvim_buf_set_option(buf, "swapfile", false)
  vim.api.nvim_buf_set_name(buf, "clnrm://test-summary")
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, M.summary_lines())
  vim.api.nvim_buf_set_option(buf, "modifiable", false)
  return buf
end

local function define_commands()
  vim.api.nvim_create_user_command("ClnrmRunScenario", M.run_scenario, { desc = "Run the clnrm scenario under the cursor" })
  vim.api.nvim_create_user_command("ClnrmRunFile", M.run_file, { desc = "Run every scenario of this file" })
  vim.api.nvim_create_user_command("ClnrmTraceDiff", M.show_trace_diff, { desc = "Show the trace diff of the scenario under the cursor" })
  vim.api.nvim_create_user_command("ClnrmUpdateBaseline", M.update_baseline, { desc = "Record the current trace as the baseline" })
  vim.api.nvim_create_user_command("ClnrmQuickfix", function() M.quickfix(true) end, { desc = "Run failures in the quickfix list" })
  vim.api.nvim_create_user_command("ClnrmTestSummary", M.test_summary, { desc = "The latest run results per file and scenario" })
end

--- Filetype detection for both extensions (works on 0.7, where vim.filetype.add is not
--- used by default).
function M.detect_filetype()
  local group = vim.api.nvim_create_augroup("clnrm_filetype", { clear = true })
  vim.api.nvim_create_autocmd({ "BufRead", "BufNewFile" }, {
    group = group,
    pattern = { "*.clnrm.toml", "*.clnrm.toml.tera" },
    callback = function(ev)
      vim.bo[ev.buf].filetype = "clnrm"
      -- TOML highlighting for the text around Tera tags.
      vim.bo[ev.buf].syntax = "toml"
    end,
  })
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  M.detect_filetype()
  define_commands()
  local group = vim.api.nvim_create_augroup("clnrm_lsp", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = "clnrm",
    callback = function(ev)
      M.attach(ev.buf)
    end,
  })
  -- Buffers already open when setup() runs.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and M.is_clnrm_file(vim.api.nvim_buf_get_name(buf)) then
      vim.bo[buf].filetype = "clnrm"
    end
  end
end

--- Register the server with nvim-lspconfig as `clnrm`.
function M.lspconfig(opts)
  local ok, configs = pcall(require, "lspconfig.configs")
  if not ok then
    error("clnrm: nvim-lspconfig is not installed")
  end
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  M.detect_filetype()
  define_commands()
  if not configs.clnrm then
    local util = require("lspconfig.util")
    configs.clnrm = {
      default_config = {
        cmd = M.config.cmd,
        filetypes = { "clnrm" },
        root_dir = util.root_pattern(unpack(M.config.root_markers)),
        init_options = M.config.settings,
        settings = { clnrm = M.config.settings },
        single_file_support = true,
        handlers = {
          ["clnrm/runResult"] = function(_, params)
            M.on_run_result(params)
            return vim.NIL
          end,
        },
      },
      docs = { description = "clnrm-lsp: diagnostics, runs and trace diffs for Cleanroom test templates." },
    }
  end
  return configs.clnrm
end

return M
