package rules

import (
	"fmt"

	"github.com/expr-lang/expr/vm"

	"github.com/incidenthub/incidenthub"
)

// Condition is a compiled boolean expression over one alert, in the same
// environment (Env) as a rule's when:. Other packages that let users write
// conditions (runtime silences) compile theirs with CompileCondition, so
// `severity == "critical" && labels.cluster == "eu-1"` means the same
// everywhere. A Condition is immutable and safe for concurrent use.
type Condition struct {
	src  string
	prog *vm.Program
}

// CompileCondition compiles src against Env as a boolean expression. The
// error carries expr's snippet with a caret under the problem.
func CompileCondition(src string) (*Condition, error) {
	p, err := compileCondition(src)
	if err != nil {
		return nil, fmt.Errorf("%s", exprError(err))
	}
	return &Condition{src: src, prog: p}, nil
}

// String returns the expression's source.
func (c *Condition) String() string { return c.src }

// Match evaluates the condition against a.
func (c *Condition) Match(a incidenthub.Alert) (bool, error) {
	m := vms.Get().(*vm.VM)
	defer vms.Put(m)
	var env Env
	env.fill(&a)
	out, err := m.Run(c.prog, &env)
	if err != nil {
		return false, err
	}
	ok, _ := out.(bool)
	return ok, nil
}
