// ads-kstatus: what GitOps tools conclude from our resources' status, computed by their
// own libraries rather than by our reading of their docs.
//
// It reads Kubernetes objects as JSON on stdin (one object, or a List as printed by
// `kubectl get -o json`) and prints one JSON line per object:
//
//	{"kind":"DataScienceJobRun","name":"r1","status":"InProgress","message":"..."}
//
// "status" and "message" are kstatus's verdict (sigs.k8s.io/cli-utils/pkg/kstatus/status:
// what Flux's `wait: true` and `kubectl apply --prune` style tools use). With
// --lua health.lua the object is also handed to that Argo CD resource-health script, run
// by github.com/yuin/gopher-lua (the Lua runtime Argo CD embeds), and its result is added
// as "health": {"status": ..., "message": ...}.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

const version = "ads-kstatus 1"

type health struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type verdict struct {
	Kind    string  `json:"kind"`
	Name    string  `json:"name"`
	Status  string  `json:"status"`
	Message string  `json:"message"`
	Health  *health `json:"health,omitempty"`
}

func main() {
	script := flag.String("lua", "", "also run this Argo CD health.lua script on each object")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if err := run(os.Stdin, os.Stdout, *script); err != nil {
		fmt.Fprintln(os.Stderr, "ads-kstatus:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, script string) error {
	decoder := json.NewDecoder(in)
	decoder.UseNumber() // whole numbers stay int64, as apimachinery expects
	var raw map[string]interface{}
	if err := decoder.Decode(&raw); err != nil {
		return fmt.Errorf("stdin is not a JSON object: %w", err)
	}
	doc := numbers(raw).(map[string]interface{})
	objects := []map[string]interface{}{doc}
	if items, ok := doc["items"].([]interface{}); ok {
		objects = objects[:0]
		for _, item := range items {
			if obj, ok := item.(map[string]interface{}); ok {
				objects = append(objects, obj)
			}
		}
	}
	encoder := json.NewEncoder(out)
	for _, obj := range objects {
		v, err := judge(obj, script)
		if err != nil {
			return err
		}
		if err := encoder.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

func judge(obj map[string]interface{}, script string) (verdict, error) {
	u := &unstructured.Unstructured{Object: obj}
	v := verdict{Kind: u.GetKind(), Name: u.GetName()}
	// A status kstatus cannot read (malformed conditions) is its verdict "Error", not the
	// end of the program: the health script still gets to judge the object.
	if res, err := status.Compute(u); err != nil {
		v.Status, v.Message = "Error", err.Error()
	} else {
		v.Status, v.Message = res.Status.String(), res.Message
	}
	if script != "" {
		h, err := luaHealth(script, obj)
		if err != nil {
			return verdict{}, fmt.Errorf("%s on %s/%s: %w", script, u.GetKind(), u.GetName(), err)
		}
		v.Health = &h
	}
	return v, nil
}

// luaHealth runs a health script the way Argo CD does: the object is the global `obj`
// (JSON turned into Lua tables), and the script returns a table with status and message.
func luaHealth(script string, obj map[string]interface{}) (health, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoFile(script); err != nil {
		return health{}, err
	}
	table, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return health{}, fmt.Errorf("the script returned %s, not a table", L.Get(-1).Type())
	}
	return health{
		Status:  lua.LVAsString(table.RawGetString("status")),
		Message: lua.LVAsString(table.RawGetString("message")),
	}, nil
}

// numbers turns json.Number into int64 (whole) or float64, everywhere in value.
func numbers(value interface{}) interface{} {
	switch v := value.(type) {
	case map[string]interface{}:
		for key, item := range v {
			v[key] = numbers(item)
		}
	case []interface{}:
		for i, item := range v {
			v[i] = numbers(item)
		}
	case json.Number:
		if whole, err := v.Int64(); err == nil {
			return whole
		}
		f, _ := v.Float64()
		return f
	}
	return value
}

func toLua(L *lua.LState, value interface{}) lua.LValue {
	switch v := value.(type) {
	case map[string]interface{}:
		table := L.NewTable()
		for key, item := range v {
			table.RawSetString(key, toLua(L, item))
		}
		return table
	case []interface{}:
		table := L.NewTable()
		for _, item := range v {
			table.Append(toLua(L, item))
		}
		return table
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	default:
		return lua.LNil
	}
}
