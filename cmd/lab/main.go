// Command lab gives hands-on practice with Backstage: it starts a real Backstage backend and PostgreSQL
// in local Docker containers for a lab, and checks the learner's work task by task.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Getenv)) }
