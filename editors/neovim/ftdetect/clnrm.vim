" Filetype for Cleanroom templates, without calling setup() (Vim-script runtime path).
autocmd BufRead,BufNewFile *.clnrm.toml,*.clnrm.toml.tera setfiletype clnrm | setlocal syntax=toml
