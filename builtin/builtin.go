// Package builtin holds flowrun's built-in node types. [Register] adds them
// all to a registry.
//
// Each type lives in its own file, named after the type (math_inc.go for
// "math.inc"), with its test beside it. The types are grouped in families
// by the prefix of their names: value, math, logic, text, stream, state,
// control, expr, exec, http, file, json and term.
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
	}
}

// Register adds every built-in node type to reg. It stops at the first
// error, such as a type that is already registered, and returns it.
func Register(reg *registry.Registry) error {
	for _, s := range specs() {
		if err := reg.Register(s); err != nil {
			return err
		}
	}
	return nil
}
