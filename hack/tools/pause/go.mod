module ads-operator.invalid/hack/tools/pause

go 1.25.0
