package testenv

import (
	"bytes"
	"os"
	"strconv"
)

// ProcAlive reports whether process pid exists and is not a zombie, from
// /proc.
func ProcAlive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...
	i := bytes.LastIndexByte(data, ')')
	return i < 0 || i+2 >= len(data) || data[i+2] != 'Z'
}
