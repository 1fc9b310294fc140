package builtin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/flowrun/flowrun/registry"
)

func exprSpec() registry.Spec {
	return registry.Spec{
		Type: "expr",
		Doc: "Computes a value from its inputs with an expression in the expr language (github.com/expr-lang/expr).\n\n" +
			"The node's inputs have any names and are the expression's variables: with inputs a and b, " +
			"expr: \"a * 2 + b\" works. The expression is compiled when the flow is loaded, so a syntax error " +
			"or a name that is not an input is reported at the parameter with its column. " +
			"The language has arithmetic, comparisons, and/or/not, the ternary ?:, the nil coalescing ??, " +
			"literals for lists and maps, member access (a.b, a[0]) and functions such as len, upper, lower, " +
			"split, join, trim, filter, map, sum, max and min; see https://expr-lang.org/docs/language-definition. " +
			"The result must be a JSON value.",
		Inputs: []registry.Input{
			{Name: "expr", Type: registry.String, Const: true, Doc: "The expression; the node's inputs are its variables."},
		},
		Variadic: &registry.Input{Doc: "A variable of the expression."},
		Outputs:  []registry.Output{{Name: "out", Doc: "The value of the expression."}},
		Example:  "total:\n  type: expr\n  inputs: {price: item, qty: quantity}\n  with: {expr: \"price * qty\"}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			names := variadicNames(cfg, "expr")
			prog, err := exprProgram(cfg, names, nil)
			if err != nil {
				return nil, err
			}
			return &exprNode{prog: prog, names: names}, nil
		},
	}
}

// exprProgram compiles the "expr" parameter of cfg with the given variables
// (typed any) and integer variables. A compile error is a *ParamError for
// "expr" that gives the column in the expression. An empty expression gives
// a nil program.
func exprProgram(cfg registry.Config, vars, intVars []string) (*vm.Program, error) {
	code, err := cfg.Params.String("expr")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(code) == "" {
		return nil, nil
	}
	if _, err := expr.Compile(code, expr.Env(exprCheckEnv(vars, intVars))); err != nil {
		return nil, paramError("expr", "%s", exprError(err))
	}
	// The checked expression is compiled again without the environment,
	// whose struct type served only to declare the variables' names.
	prog, err := expr.Compile(code)
	if err != nil {
		return nil, paramError("expr", "%s", exprError(err))
	}
	return prog, nil
}

// exprCheckEnv returns a value whose type declares the variables to the
// expr type checker: a struct with one interface{} field per variable (an
// int for intVars), named by expr tags. The checker then accepts any use
// of a variable and rejects unknown names.
func exprCheckEnv(vars, intVars []string) any {
	anyType := reflect.TypeFor[any]()
	var fields []reflect.StructField
	add := func(name string, t reflect.Type) {
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("V%d", len(fields)),
			Type: t,
			Tag:  reflect.StructTag(`expr:"` + name + `"`),
		})
	}
	for _, v := range vars {
		add(v, anyType)
	}
	for _, v := range intVars {
		add(v, reflect.TypeFor[int]())
	}
	return reflect.New(reflect.StructOf(fields)).Elem().Interface()
}

// exprError renders an expr error on one line, with its column.
func exprError(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fmt.Sprintf("%s at column %d", fe.Message, fe.Column+1)
	}
	return err.Error()
}

// evalExpr runs a program and converts its result to a JSON value.
func evalExpr(prog *vm.Program, env map[string]any) (any, error) {
	v, err := expr.Run(prog, env)
	if err != nil {
		return nil, errors.New(exprError(err))
	}
	out, err := jsonShaped(v)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	return out, nil
}

// exprNode evaluates an expression over its inputs.
type exprNode struct {
	prog  *vm.Program
	names []string
}

var _ registry.Node = (*exprNode)(nil)

func (n *exprNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	if n.prog == nil {
		return errors.New("empty expression")
	}
	env := make(map[string]any, len(n.names))
	for _, name := range n.names {
		env[name] = in.Value(name)
	}
	v, err := evalExpr(n.prog, env)
	if err != nil {
		return err
	}
	out.Set("out", v)
	return nil
}
