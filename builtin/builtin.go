// Package builtin holds flowrun's built-in node types. [Register] adds them
// all to a registry.
//
// Each type lives in its own file, named after the type (math_inc.go for
// "math.inc"), with its test beside it. The types are grouped in families
// by the prefix of their names: value, math, logic, text, stream, state,
// control, expr, exec, http, file, json, term, chat, llm and web.
package builtin

import "github.com/flowrun/flowrun/registry"

// specs returns the declarations of the built-in types, by family.
func specs() []registry.Spec {
	return []registry.Spec{
		valueConstSpec(),
		valueIdentitySpec(),
		valueSinkSpec(),
		valueSwapSpec(),
		mathIncSpec(),
		mathAddSpec(),
		mathSubSpec(),
		mathMulSpec(),
		mathDivSpec(),
		mathNegSpec(),
		mathCompareSpec(),
		logicNotSpec(),
		textUpperSpec(),
		textLowerSpec(),
		textConcatSpec(),
		textSplitSpec(),
		textFormatSpec(),
		textSentencesSpec(),
		streamEmitSpec(),
		streamRangeSpec(),
		streamCollectSpec(),
		streamJoinSpec(),
		streamTakeSpec(),
		streamZipSpec(),
		streamBatchSpec(),
		streamMapSpec(),
		stateCounterSpec(),
		stateAccumulatorSpec(),
		controlDelaySpec(),
		controlFailSpec(),
		controlStopSpec(),
		exprSpec(),
		jsonParseSpec(),
		jsonGetSpec(),
		execSpec(),
		httpRequestSpec(),
		fileReadSpec(),
		fileWriteSpec(),
		termInputSpec(),
		termPrintSpec(),
		termChatSpec(),
		chatHistorySpec(),
		llmChatSpec(),
		webInputSpec(),
		webOutputSpec(),
	}
}

// Register adds the built-in node types to reg. With options, the types
// whose effects they refuse are not registered but recorded as refused
// (see [registry.Registry.Refuse]), so that a flow using one is an error
// that says why: a service running flows its users submit can refuse
// processes by construction with
//
//	builtin.Register(reg, builtin.Deny(registry.Exec, registry.Write))
//
// Register stops at the first error, such as a type that is already
// registered, and returns it.
func Register(reg *registry.Registry, opts ...Option) error {
	var p registry.Policy
	for _, o := range opts {
		o(&p)
	}
	for _, s := range specs() {
		if err := reg.RegisterAllowed(s, p); err != nil {
			return err
		}
	}
	return nil
}

// An Option restricts the types [Register] adds by their effects.
type Option func(*registry.Policy)

// Deny refuses the types that have any of effects. A type that runs
// processes (effect exec) is refused whatever effect is denied.
func Deny(effects ...registry.Effect) Option {
	return func(p *registry.Policy) { p.Deny = append(p.Deny, effects...) }
}

// Allow refuses the types that have an effect not in effects; types
// without effects are always allowed. Allow() with no effect allows only
// the types without effects.
func Allow(effects ...registry.Effect) Option {
	return func(p *registry.Policy) {
		if p.Allow == nil {
			p.Allow = []registry.Effect{}
		}
		p.Allow = append(p.Allow, effects...)
	}
}
