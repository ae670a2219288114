" codegen-lsp in Vim 9 through ALE (https://github.com/dense-analysis/ale): completion from your local model
" (<C-x><C-o>, or as you type with g:ale_completion_enabled = 1) and its code actions (:ALECodeAction).
" Source this file after ALE is on the runtimepath. Set before sourcing:
"   g:codegen_lsp_command   the server command, a list (default ['codegen-lsp'])
"   g:codegen_lsp_settings  server settings, the keys of the `codegen` section (e.g. {'model': '~/models/m'})
"   g:codegen_lsp_filetypes the filetypes to serve
let g:codegen_lsp_command = get(g:, 'codegen_lsp_command', ['codegen-lsp'])
let g:codegen_lsp_settings = get(g:, 'codegen_lsp_settings', {})
let g:codegen_lsp_filetypes = get(g:, 'codegen_lsp_filetypes',
\   ['python', 'javascript', 'typescript', 'java', 'go', 'rust', 'c', 'cpp'])

" The project root: the nearest folder with a marker, else the file's own folder.
function! s:ProjectRoot(buffer) abort
    for l:marker in ['.git', 'pyproject.toml', 'package.json', 'Cargo.toml', 'go.mod']
        let l:found = ale#path#FindNearestFile(a:buffer, l:marker)
        let l:found = empty(l:found) ? ale#path#FindNearestDirectory(a:buffer, l:marker) : l:found
        if !empty(l:found)
            return fnamemodify(substitute(l:found, '/$', '', ''), ':h')
        endif
    endfor
    return expand('#' . a:buffer . ':p:h')
endfunction

for s:filetype in g:codegen_lsp_filetypes
    call ale#linter#Define(s:filetype, {
    \   'name': 'codegen_lsp',
    \   'lsp': 'stdio',
    \   'executable': {_ -> g:codegen_lsp_command[0]},
    \   'command': {_ -> join(['%e'] + map(g:codegen_lsp_command[1:], 'ale#Escape(v:val)'))},
    \   'project_root': function('s:ProjectRoot'),
    \   'initialization_options': {_ -> g:codegen_lsp_settings},
    \   'lsp_config': {_ -> {'codegen': g:codegen_lsp_settings}},
    \})
endfor

" Run a server command; the answer goes to a:Handler (default: echo it).
function! CodegenExecute(command, ...) abort
    let l:Handler = a:0 ? a:1 : {response -> execute('echomsg "codegen: " . json_encode(get(response, "result"))', '')}
    call ale#lsp_linter#SendRequest(bufnr(''), 'codegen_lsp', ale#lsp#message#ExecuteCommand(a:command, []), l:Handler)
endfunction

command! CodegenStatus call CodegenExecute('codegen.status')
command! CodegenToggle call CodegenExecute('codegen.toggle')
command! CodegenReloadModel call CodegenExecute('codegen.reloadModel')
