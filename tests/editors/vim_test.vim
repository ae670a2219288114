" editors/vim/codegen_lsp.vim end to end in Vim with Debian's ALE:
"   vim -N -u NONE -i NONE -es -S vim_test.vim
" Environment: CODEGEN_TEST_CONFIG, CODEGEN_TEST_ALE (ALE's folder), CODEGEN_TEST_PYTHON, CODEGEN_TEST_MODEL,
" CODEGEN_TEST_FILE, CODEGEN_TEST_OUTPUT (where the "ok - ..." lines go). Exits 0 on success, 1 on failure.
let s:output = []

function! s:Finish(code) abort
    call writefile(s:output, $CODEGEN_TEST_OUTPUT)
    execute a:code == 0 ? 'qall!' : 'cquit!'
endfunction

function! s:Check(condition, what) abort
    call add(s:output, (a:condition ? 'ok - ' : 'FAILED: ') . a:what)
    if !a:condition
        call s:Finish(1)
    endif
endfunction

" Wait until g:Predicate() is true, processing jobs and channels; fail after 30 s.
function! s:Wait(what, Predicate) abort
    let l:waited_ms = 0
    while !a:Predicate() && l:waited_ms < 30000
        sleep 50m
        let l:waited_ms += 50
    endwhile
    call s:Check(a:Predicate(), a:what)
endfunction

let s:status = {}
function! s:OnStatus(response) abort
    let s:status = get(a:response, 'result', {})
endfunction

function! s:WaitForModel() abort
    let l:waited_ms = 0
    while index(['ready', 'failed'], get(s:status, 'state', '')) < 0 && l:waited_ms < 30000
        call CodegenExecute('codegen.status', function('s:OnStatus'))
        sleep 200m
        let l:waited_ms += 200
    endwhile
endfunction

let s:completions = v:null
function! s:OnCompletions(items) abort
    let s:completions = a:items
endfunction

try
    execute 'set runtimepath^=' . fnameescape($CODEGEN_TEST_ALE)
    filetype plugin on
    let g:codegen_lsp_command = [$CODEGEN_TEST_PYTHON, '-m', 'codegen_lsp']
    let g:codegen_lsp_settings = {'model': $CODEGEN_TEST_MODEL, 'device': 'cpu', 'maxTokens': 8}
    let g:ale_linters = {'python': ['codegen_lsp']}
    runtime plugin/ale.vim
    execute 'source ' . fnameescape($CODEGEN_TEST_CONFIG)
    execute 'edit ' . fnameescape($CODEGEN_TEST_FILE)
    call s:Check(&filetype is# 'python', 'the file opens as python')

    call s:WaitForModel()
    call s:Check(s:status.state is# 'ready', 'the server loads the model')
    call s:Check(s:status.model is# $CODEGEN_TEST_MODEL, 'the settings reach the server (model path)')

    call append(line('$'), ['def mul(x, y):', '    return '])
    " Ex mode has no Insert mode, where ALE takes completions: stub its mode() wrapper as ALE's own tests do.
    runtime autoload/ale/util.vim
    function! ale#util#Mode(...) abort
        return 'i'
    endfunction
    " At the end of `return ` (Ex mode cannot put the cursor past the end of a line: give the position).
    call cursor(line('$'), len(getline('$')))
    call ale#completion#GetCompletions('ale-callback', {'callback': function('s:OnCompletions'),
    \   'line': line('$'), 'column': len(getline('$')) + 1, 'prefix': ''})
    call s:Wait('completions', {-> s:completions isnot v:null})
    call s:Check(len(s:completions) > 0 && !empty(s:completions[0].word), 'ALE completion offers the model''s suggestion')
    call s:Finish(0)
catch
    call s:Check(0, v:exception . ' at ' . v:throwpoint)
endtry
