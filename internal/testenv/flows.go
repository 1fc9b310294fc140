package testenv

// SleeperFlow is a flow whose one exec node, "slow", runs a program that
// writes its pid to the file $PID_FILE names (the shell's pid, which the
// sleep takes over: exec), says "started" and sleeps 300 s: tests that
// must see a program killed watch that pid ($$ is a literal $ in a flow
// file).
const SleeperFlow = `version: 1
nodes:
  slow:
    type: exec
    with:
      command: [sh, -c, 'echo $$$$ > "$PID_FILE"; echo started; exec sleep 300']
      pass_env: [PID_FILE]
`
