// openapi-gen: writes the OpenAPI definitions of the built-in kinds skiff-master serves, read from
// the Go sources of the Kubernetes API modules (k8s.io/api, k8s.io/apimachinery,
// k8s.io/apiextensions-apiserver, k8s.io/kube-aggregator, k8s.io/metrics) at the release skiff
// follows. It follows the rules of kube-openapi's openapi-gen (names, descriptions, required
// fields, list/map/patch extensions, enums, the types that define their own schema), reading
// the sources with go/parser only, so it needs no module download and runs with Debian's Go:
//
//	go run master-lite/src/openapi/gen/main.go -src k8s.io/api=DIR -src k8s.io/apimachinery=DIR \
//	    ... -pkg k8s.io/api/core/v1 -pkg k8s.io/api/apps/v1 ... > master-lite/src/openapi/definitions.json
//
// master-lite/src/openapi/regenerate.sh holds the exact invocation. The output is one JSON
// object: "definitions" (name -> Swagger 2.0 schema, refs as #/definitions/NAME), and "v3OneOf"
// (name -> the types OpenAPI v3 lists for it, e.g. IntOrString). One definition per line, so a
// version bump reads as a diff of the kinds that changed.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// A Go package as read from its sources: its named types, the constants of each named type (for
// enums), the methods that give a type its own OpenAPI schema, and its group name.
type pkg struct {
	path      string
	group     string
	hasGroup  bool
	served    bool // a -pkg: its kinds carry x-kubernetes-group-version-kind
	types     map[string]*typeDecl
	consts    map[string][]enumValue // type name -> values
	schemaTyp map[string][]string    // OpenAPISchemaType()
	schemaFmt map[string]string      // OpenAPISchemaFormat()
	oneOf     map[string][]string    // OpenAPIV3OneOfTypes()
}

type typeDecl struct {
	name string
	doc  string // raw comment text
	// doc plus the comment block just above it: where "+genclient" and
	// "+k8s:deepcopy-gen:interfaces" usually sit, separated from the doc by a blank line.
	tags    string
	expr    ast.Expr
	imports map[string]string // the declaring file's imports: name -> path
}

type enumValue struct {
	value string
	doc   string
}

type generator struct {
	roots  map[string]string // module path -> source directory
	pkgs   map[string]*pkg
	defs   map[string]map[string]interface{}
	v3     map[string][]string
	queued []ref
}

type ref struct {
	pkg  *pkg
	name string
}

func main() {
	var srcs, pkgPaths, extra listFlag
	flag.Var(&srcs, "src", "MODULE=DIR: where a module's sources are (repeatable)")
	flag.Var(&pkgPaths, "pkg", "a package whose kinds are served (repeatable)")
	flag.Var(&extra, "type", "PACKAGE.Type: a definition every document carries (repeatable)")
	flag.Parse()
	g := &generator{roots: map[string]string{}, pkgs: map[string]*pkg{},
		defs: map[string]map[string]interface{}{}, v3: map[string][]string{}}
	for _, s := range srcs {
		kv := strings.SplitN(s, "=", 2)
		if len(kv) != 2 {
			fail("-src wants MODULE=DIR, got %q", s)
		}
		g.roots[kv[0]] = kv[1]
	}
	for _, p := range pkgPaths {
		pk := g.load(p)
		pk.served = true
		names := make([]string, 0, len(pk.types))
		for n, t := range pk.types {
			if _, isStruct := t.expr.(*ast.StructType); isStruct && isRuntimeObject(t.tags) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			g.want(pk, n)
		}
	}
	for _, t := range extra {
		i := strings.LastIndex(t, ".")
		if i < 0 {
			fail("-type wants PACKAGE.Type, got %q", t)
		}
		g.want(g.load(t[:i]), t[i+1:])
	}
	for len(g.queued) > 0 {
		r := g.queued[0]
		g.queued = g.queued[1:]
		g.define(r.pkg, r.name)
	}
	write(g)
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "openapi-gen: "+format+"\n", a...)
	os.Exit(1)
}

// Top-level kinds: the types deepcopy-gen makes runtime.Objects.
func isRuntimeObject(doc string) bool {
	return strings.Contains(doc, "+k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object")
}

func (g *generator) load(path string) *pkg {
	if p, ok := g.pkgs[path]; ok {
		return p
	}
	dir := ""
	for mod, d := range g.roots {
		if path == mod || strings.HasPrefix(path, mod+"/") {
			dir = filepath.Join(d, strings.TrimPrefix(path, mod))
		}
	}
	if dir == "" {
		fail("no -src for package %s", path)
	}
	fset := token.NewFileSet()
	files, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool {
		n := fi.Name()
		return !strings.HasSuffix(n, "_test.go") && !strings.HasPrefix(n, "zz_generated")
	}, parser.ParseComments)
	if err != nil {
		fail("%s: %v", dir, err)
	}
	p := &pkg{path: path, types: map[string]*typeDecl{}, consts: map[string][]enumValue{},
		schemaTyp: map[string][]string{}, schemaFmt: map[string]string{}, oneOf: map[string][]string{}}
	g.pkgs[path] = p
	for _, astPkg := range files {
		for fname, f := range astPkg.Files {
			if filepath.Base(fname) == "doc.go" {
				// "+groupName=apps" sits in a comment block above the package clause.
				for _, c := range f.Comments {
					if c.Pos() > f.Package {
						continue
					}
					if v, ok := markers(commentText(c))["groupName"]; ok {
						p.group, p.hasGroup = v[0], true
					}
				}
			}
			imports := map[string]string{}
			for _, im := range f.Imports {
				ip, _ := strconv.Unquote(im.Path.Value)
				name := ip[strings.LastIndex(ip, "/")+1:]
				if im.Name != nil {
					name = im.Name.Name
				}
				imports[name] = ip
			}
			for _, decl := range f.Decls {
				switch d := decl.(type) {
				case *ast.GenDecl:
					p.readGenDecl(d, imports, fset, f)
				case *ast.FuncDecl:
					p.readSchemaMethod(d)
				}
			}
		}
	}
	return p
}

func (p *pkg) readGenDecl(d *ast.GenDecl, imports map[string]string, fset *token.FileSet,
	f *ast.File) {
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			doc := s.Doc
			if doc == nil && len(d.Specs) == 1 {
				doc = d.Doc
			}
			t := &typeDecl{name: s.Name.Name, doc: commentText(doc), expr: s.Type, imports: imports}
			t.tags = t.doc
			if doc != nil {
				first := fset.Position(doc.Pos()).Line
				for _, c := range f.Comments {
					if fset.Position(c.End()).Line == first-2 {
						t.tags = commentText(c) + "\n" + t.doc
					}
				}
			}
			p.types[s.Name.Name] = t
		case *ast.ValueSpec:
			if d.Tok != token.CONST || len(s.Values) != len(s.Names) {
				continue
			}
			// register.go's `const GroupName = "apps"`, for groups whose doc.go has no
			// +groupName.
			if len(s.Names) == 1 && s.Names[0].Name == "GroupName" && !p.hasGroup {
				if lit, ok := s.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					p.group, _ = strconv.Unquote(lit.Value)
					p.hasGroup = true
				}
			}
			if s.Type == nil {
				continue
			}
			id, ok := s.Type.(*ast.Ident)
			if !ok {
				continue
			}
			for i, v := range s.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				val, _ := strconv.Unquote(lit.Value)
				doc := commentText(s.Doc)
				doc = strings.TrimPrefix(doc, s.Names[i].Name+" ")
				p.consts[id.Name] = append(p.consts[id.Name], enumValue{val, doc})
			}
		}
	}
}

// func (T) OpenAPISchemaType() []string { return []string{"string"} } and its kin.
func (p *pkg) readSchemaMethod(d *ast.FuncDecl) {
	if d.Recv == nil || len(d.Recv.List) != 1 || d.Body == nil {
		return
	}
	recv := d.Recv.List[0].Type
	if star, ok := recv.(*ast.StarExpr); ok {
		recv = star.X
	}
	id, ok := recv.(*ast.Ident)
	if !ok {
		return
	}
	var ret ast.Expr
	for _, st := range d.Body.List {
		if r, ok := st.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
			ret = r.Results[0]
		}
	}
	strs := func() []string {
		var out []string
		if cl, ok := ret.(*ast.CompositeLit); ok {
			for _, e := range cl.Elts {
				if lit, ok := e.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, s)
				}
			}
		}
		return out
	}
	switch d.Name.Name {
	case "OpenAPISchemaType":
		p.schemaTyp[id.Name] = strs() // nil for "no type" (apiextensions' JSON)
	case "OpenAPISchemaFormat":
		if lit, ok := ret.(*ast.BasicLit); ok {
			p.schemaFmt[id.Name], _ = strconv.Unquote(lit.Value)
		}
	case "OpenAPIV3OneOfTypes":
		p.oneOf[id.Name] = strs()
	}
}

func commentText(c *ast.CommentGroup) string {
	if c == nil {
		return ""
	}
	// CommentGroup.Text drops "//+marker" lines without a space; keep every line as written.
	var lines []string
	for _, cm := range c.List {
		t := cm.Text
		if strings.HasPrefix(t, "//") {
			t = strings.TrimPrefix(t, "//")
			t = strings.TrimPrefix(t, " ")
			lines = append(lines, t)
		} else {
			t = strings.TrimSuffix(strings.TrimPrefix(t, "/*"), "*/")
			lines = append(lines, strings.Split(t, "\n")...)
		}
	}
	return strings.Join(lines, "\n")
}

// kube-openapi's fmtRawDoc: markers and one-line TODOs dropped, everything after "---" dropped,
// lines joined into paragraphs; indented lines (examples) keep their breaks.
func description(raw string) string {
	raw = strings.Split(raw, "---")[0]
	var b strings.Builder
	dropLast := func() {
		s := b.String()
		if len(s) > 0 {
			b.Reset()
			b.WriteString(s[:len(s)-1])
		}
	}
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimRight(line, " ")
		leading := strings.TrimLeft(line, " ")
		switch {
		case len(line) == 0:
			dropLast()
			b.WriteString("\n\n")
		case strings.HasPrefix(leading, "TODO"), strings.HasPrefix(leading, "+"):
		default:
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				dropLast()
				line = "\n" + line + "\n"
			} else {
				line += " "
			}
			b.WriteString(line)
		}
	}
	return strings.TrimRight(b.String(), "\n ")
}

// "+listMapKey=name" lines -> {"listMapKey": ["name"]}.
func markers(raw string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "+") {
			continue
		}
		kv := strings.SplitN(line[1:], "=", 2)
		v := ""
		if len(kv) == 2 {
			v = kv[1]
		}
		out[kv[0]] = append(out[kv[0]], v)
	}
	return out
}

// "k8s.io/api/core/v1", "Pod" -> "io.k8s.api.core.v1.Pod" (openapi-gen's friendly names).
func defName(path, name string) string {
	parts := strings.Split(path, "/")
	host := strings.Split(parts[0], ".")
	for i, j := 0, len(host)-1; i < j; i, j = i+1, j-1 {
		host[i], host[j] = host[j], host[i]
	}
	return strings.Join(append(host, parts[1:]...), ".") + "." + name
}

func (g *generator) want(p *pkg, name string) string {
	n := defName(p.path, name)
	if _, ok := g.defs[n]; !ok {
		g.defs[n] = nil // reserved: queued
		g.queued = append(g.queued, ref{p, name})
	}
	return n
}

func (g *generator) define(p *pkg, name string) {
	t := p.types[name]
	if t == nil {
		fail("%s.%s: no such type", p.path, name)
	}
	n := defName(p.path, name)
	s := map[string]interface{}{}
	if d := description(t.doc); d != "" {
		s["description"] = d
	}
	if typ, ok := p.schemaTyp[name]; ok {
		if len(typ) > 0 {
			s["type"] = typ[0]
		}
		if f := p.schemaFmt[name]; f != "" {
			s["format"] = f
		}
		if one, ok := p.oneOf[name]; ok {
			g.v3[n] = one
		}
		g.defs[n] = s
		return
	}
	st, ok := t.expr.(*ast.StructType)
	if !ok {
		fail("%s.%s is not a struct", p.path, name)
	}
	s["type"] = "object"
	props := map[string]interface{}{}
	var required []string
	g.fields(p, t, st, props, &required)
	if len(props) > 0 {
		s["properties"] = props
	}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	m := markers(t.tags)
	if v, ok := m["structType"]; ok {
		s["x-kubernetes-map-type"] = v[0]
	}
	if isRuntimeObject(t.tags) && p.served {
		if !p.hasGroup {
			fail("%s: no +groupName and no GroupName constant", p.path)
		}
		version := p.path[strings.LastIndex(p.path, "/")+1:]
		s["x-kubernetes-group-version-kind"] = []map[string]string{
			{"group": p.group, "version": version, "kind": name}}
	}
	g.defs[n] = s
}

func (g *generator) fields(p *pkg, t *typeDecl, st *ast.StructType, props map[string]interface{},
	required *[]string) {
	for _, f := range st.Fields.List {
		tag := ""
		if f.Tag != nil {
			raw, _ := strconv.Unquote(f.Tag.Value)
			tag = reflect.StructTag(raw).Get("json")
		}
		doc := commentText(f.Doc)
		m := markers(doc)
		if v, ok := m["k8s:openapi-gen"]; ok && v[0] == "false" {
			continue
		}
		name, opts := tag, ""
		if i := strings.Index(tag, ","); i >= 0 {
			name, opts = tag[:i], tag[i:]
		}
		if name == "-" {
			continue
		}
		if len(f.Names) == 0 && (name == "" || strings.Contains(opts, ",inline")) {
			// An embedded struct: its fields are this struct's (TypeMeta's apiVersion and kind).
			ep, et := g.resolveNamed(p, t.imports, f.Type)
			est, ok := et.expr.(*ast.StructType)
			if !ok {
				fail("%s: embedded %s is not a struct", t.name, et.name)
			}
			g.fields(ep, et, est, props, required)
			continue
		}
		// An embedded struct with a JSON name (ObjectMeta as "metadata") is an ordinary field.
		if len(f.Names) > 1 || (len(f.Names) == 1 && !f.Names[0].IsExported()) {
			continue
		}
		if name == "" {
			name = f.Names[0].Name
		}
		prop := g.schemaOf(p, t.imports, f.Type)
		if d, ok := g.zeroDefault(p, t.imports, f.Type, strings.Contains(opts, ",omitempty")); ok {
			prop["default"] = d
		}
		if d := description(doc); d != "" {
			prop["description"] = d
		}
		g.enum(p, t.imports, f.Type, prop)
		ext := map[string]string{"patchMergeKey": "x-kubernetes-patch-merge-key",
			"patchStrategy": "x-kubernetes-patch-strategy", "listType": "x-kubernetes-list-type",
			"mapType": "x-kubernetes-map-type"}
		for mk, key := range ext {
			if v, ok := m[mk]; ok {
				prop[key] = v[0]
			}
		}
		if v, ok := m["listMapKey"]; ok {
			prop["x-kubernetes-list-map-keys"] = v
		}
		_, optional := m["optional"]
		_, req := m["required"]
		if req || (!optional && !strings.Contains(opts, ",omitempty")) {
			*required = append(*required, name)
		}
		props[name] = prop
	}
}

// The package and declaration a named type expression refers to.
func (g *generator) resolveNamed(p *pkg, imports map[string]string, e ast.Expr) (*pkg, *typeDecl) {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	switch x := e.(type) {
	case *ast.Ident:
		if t := p.types[x.Name]; t != nil {
			return p, t
		}
	case *ast.SelectorExpr:
		pk, ok := x.X.(*ast.Ident)
		if !ok {
			break
		}
		path := imports[pk.Name]
		if path == "" {
			fail("%s: unknown import %s", p.path, pk.Name)
		}
		op := g.load(path)
		if t := op.types[x.Sel.Name]; t != nil {
			return op, t
		}
	}
	return nil, nil
}

func (g *generator) schemaOf(p *pkg, imports map[string]string, e ast.Expr) map[string]interface{} {
	switch x := e.(type) {
	case *ast.StarExpr:
		return g.schemaOf(p, imports, x.X)
	case *ast.ArrayType:
		if id, ok := x.Elt.(*ast.Ident); ok && id.Name == "byte" {
			return map[string]interface{}{"type": "string", "format": "byte"}
		}
		return map[string]interface{}{"type": "array", "items": g.element(p, imports, x.Elt)}
	case *ast.MapType:
		return map[string]interface{}{"type": "object",
			"additionalProperties": g.element(p, imports, x.Value)}
	case *ast.InterfaceType:
		return map[string]interface{}{"type": "object"}
	case *ast.Ident:
		if s := basic(x.Name); s != nil {
			return s
		}
	}
	op, t := g.resolveNamed(p, imports, e)
	if t == nil {
		fail("%s: cannot resolve type %#v", p.path, e)
	}
	if _, ok := t.expr.(*ast.StructType); ok {
		return map[string]interface{}{"$ref": "#/definitions/" + g.want(op, t.name)}
	}
	// A named non-struct (type Protocol string, type ResourceList map[...]...): its underlying
	// type, inline, as openapi-gen does.
	return g.schemaOf(op, t.imports, t.expr)
}

// A list item or map value: as a field without omitempty (zero default included).
func (g *generator) element(p *pkg, imports map[string]string, e ast.Expr) map[string]interface{} {
	s := g.schemaOf(p, imports, e)
	if d, ok := g.zeroDefault(p, imports, e, false); ok {
		s["default"] = d
	}
	return s
}

// The default openapi-gen writes for a value the Go zero value cannot leave out: {} for a struct,
// the zero of a basic type unless omitempty; none for pointers, lists, maps and the types that
// define their own schema (Time, Quantity, IntOrString).
func (g *generator) zeroDefault(p *pkg, imports map[string]string, e ast.Expr,
	omitEmpty bool) (interface{}, bool) {
	switch x := e.(type) {
	case *ast.StarExpr, *ast.ArrayType, *ast.MapType, *ast.InterfaceType:
		return nil, false
	case *ast.Ident:
		if s := basic(x.Name); s != nil {
			if omitEmpty {
				return nil, false
			}
			switch s["type"] {
			case "string":
				return "", true
			case "boolean":
				return false, true
			}
			return 0, true
		}
	}
	op, t := g.resolveNamed(p, imports, e)
	if t == nil {
		return nil, false
	}
	if _, own := op.schemaTyp[t.name]; own {
		return nil, false
	}
	if _, ok := t.expr.(*ast.StructType); ok {
		return map[string]interface{}{}, true
	}
	return g.zeroDefault(op, t.imports, t.expr, omitEmpty)
}

// A field of a "+enum" string type lists the type's constants, as kube-openapi does.
func (g *generator) enum(p *pkg, imports map[string]string, e ast.Expr,
	prop map[string]interface{}) {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	if _, ok := e.(*ast.Ident); !ok {
		if _, ok := e.(*ast.SelectorExpr); !ok {
			return
		}
	}
	op, t := g.resolveNamed(p, imports, e)
	if t == nil {
		return
	}
	if _, ok := markers(t.tags)["enum"]; !ok {
		return
	}
	values := append([]enumValue(nil), op.consts[t.name]...)
	if len(values) == 0 {
		return
	}
	sort.Slice(values, func(i, j int) bool { return values[i].value < values[j].value })
	var lines []string
	var enum []string
	seen := map[string]bool{}
	for _, v := range values {
		if seen[v.value] {
			continue
		}
		seen[v.value] = true
		enum = append(enum, v.value)
		line := " - `" + strconv.Quote(v.value) + "`"
		if d := strings.Join(strings.Fields(description(v.doc)), " "); d != "" {
			line += " " + d
		}
		lines = append(lines, line)
	}
	d, _ := prop["description"].(string)
	if d != "" {
		d += "\n\n"
	}
	prop["description"] = d + "Possible enum values:\n" + strings.Join(lines, "\n")
	prop["enum"] = enum
}

func basic(name string) map[string]interface{} {
	switch name {
	case "string":
		return map[string]interface{}{"type": "string"}
	case "bool":
		return map[string]interface{}{"type": "boolean"}
	case "int", "int32", "uint32", "int16", "uint16", "int8", "uint8":
		return map[string]interface{}{"type": "integer", "format": "int32"}
	case "int64", "uint64":
		return map[string]interface{}{"type": "integer", "format": "int64"}
	case "float64":
		return map[string]interface{}{"type": "number", "format": "double"}
	case "float32":
		return map[string]interface{}{"type": "number", "format": "float"}
	}
	return nil
}

func write(g *generator) {
	names := make([]string, 0, len(g.defs))
	for n := range g.defs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := os.Stdout
	fmt.Fprintln(out, "{\"definitions\": {")
	for i, n := range names {
		b := marshal(g.defs[n])
		key := marshal(n)
		sep := ","
		if i == len(names)-1 {
			sep = ""
		}
		fmt.Fprintf(out, "%s: %s%s\n", key, b, sep)
	}
	fmt.Fprintf(out, "},\n\"v3OneOf\": %s}\n", marshal(g.v3))
}

// JSON without Go's HTML escaping (descriptions hold "<" and "&"), keys sorted.
func marshal(v interface{}) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fail("%v", err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
