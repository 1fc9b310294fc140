package registry

import "os"

// OSEnv returns a function that reads the variables of this process's
// environment, [os.Getenv]. It is the default of graph.Options.Getenv, the
// one place a program that embeds flowrun sets the environment of a flow:
// the loader resolves ${VAR} with it and the engine hands it to the nodes
// as [Env].Getenv.
func OSEnv() func(string) string { return os.Getenv }
