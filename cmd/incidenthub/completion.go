package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/template"
)

// command is one top-level command of the dispatcher in run.go, for shell
// completion: its subcommands, if it has any. Flags are not listed here:
// the completion scripts ask the binary (`incidenthub CMD [SUB] --help`),
// so they always match the flag sets.
type command struct {
	Name, Help string
	Subs       []string
}

// commands lists what run dispatches. TestCompletionMatchesDispatcher
// checks it against the usage text and run itself.
func commands() []command {
	return []command{
		{Name: "serve", Help: "run the hub"},
		{Name: "migrate", Help: "apply or list database migrations", Subs: []string{"up", "status"}},
		{Name: "config", Help: "validate a config file", Subs: []string{"check"}},
		{Name: "rules", Help: "dry-run the routing rules against a payload", Subs: []string{"test"}},
		{Name: "sources", Help: "list the source kinds", Subs: []string{"list"}},
		{Name: "registry", Help: "the webhook registry", Subs: usageSubs(registryUsage)},
		{Name: "silence", Help: "runtime silences on a running hub", Subs: usageSubs(silenceUsage)},
		{Name: "version", Help: "print the version, revision, build date and Go version"},
		{Name: "completion", Help: "print a shell completion script", Subs: []string{"bash", "zsh"}},
		{Name: "help", Help: "print the usage"},
	}
}

var subsRe = regexp.MustCompile(`<([a-z|]+)>`)

// usageSubs reads the subcommands from a usage text's first line
// ("usage: incidenthub registry <list|show|…> …"), so a subcommand added
// there is completed too.
func usageSubs(usage string) []string {
	line, _, _ := strings.Cut(usage, "\n")
	m := subsRe.FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	return strings.Split(m[1], "|")
}

// completionCmd runs `incidenthub completion bash|zsh`.
func completionCmd(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("completion: want `completion bash` or `completion zsh`")
	}
	var t *template.Template
	switch args[0] {
	case "bash":
		t = bashCompletion
	case "zsh":
		t = zshCompletion
	case "-h", "--help", "help":
		fmt.Fprint(stdout, completionUsage)
		return nil
	default:
		return usageError(fmt.Sprintf("completion: unknown shell %q (want bash or zsh)", args[0]))
	}
	return t.Execute(stdout, commands())
}

const completionUsage = `usage: incidenthub completion <bash|zsh>

  bash   source <(incidenthub completion bash)   # e.g. in ~/.bashrc
  zsh    source <(incidenthub completion zsh)    # in ~/.zshrc, after compinit
`

var funcs = template.FuncMap{"join": strings.Join}

var bashCompletion = template.Must(template.New("bash").Funcs(funcs).Parse(`# bash completion for incidenthub
# load it with: source <(incidenthub completion bash)
_incidenthub() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} subs=""
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -W "{{range .}}{{.Name}} {{end}}--help --version" -- "$cur"))
        return
    fi
    case $cmd in
{{- range .}}{{if .Subs}}
        {{.Name}}) subs="{{join .Subs " "}}" ;;
{{- end}}{{end}}
    esac
    if [[ $COMP_CWORD -eq 2 && -n $subs ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        local words=("$cmd")
        [[ -n $subs ]] && words+=("${COMP_WORDS[2]}")
        local flags
        flags=$("${COMP_WORDS[0]}" "${words[@]}" --help 2>&1 | sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p')
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    COMPREPLY=()
}
complete -o default -F _incidenthub incidenthub
`))

var zshCompletion = template.Must(template.New("zsh").Funcs(funcs).Parse(`#compdef incidenthub
# zsh completion for incidenthub
# load it with: source <(incidenthub completion zsh)   (after compinit)
_incidenthub() {
    local -a cmds subs flags words2
    cmds=(
{{- range .}}
        '{{.Name}}:{{.Help}}'
{{- end}}
    )
    if (( CURRENT == 2 )); then
        _describe 'command' cmds
        return
    fi
    case $words[2] in
{{- range .}}{{if .Subs}}
        {{.Name}}) subs=({{join .Subs " "}}) ;;
{{- end}}{{end}}
    esac
    if (( CURRENT == 3 && ${#subs} )); then
        compadd -a subs
        return
    fi
    if [[ $PREFIX == -* ]]; then
        words2=($words[2])
        (( ${#subs} )) && words2+=($words[3])
        flags=(${(f)"$($words[1] $words2 --help 2>&1 | sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p')"})
        compadd -a flags
        return
    fi
    _files
}
compdef _incidenthub incidenthub
`))
