package scenarios

import ("fmt";"testing")

func TestZZDraw(t *testing.T) {
	e := func(n string, c int) Edge { return Edge{n, c} }
	fmt.Print(DrawTopology(Topology{Mode: ModeForward, Clients: []Edge{e("cli1",10),e("cli2",10),e("cli3",9)}, Servers: []Edge{e("server1",29)}}))
	fmt.Print(DrawTopology(Topology{Mode: ModeReverse, Clients: []Edge{e("cli1",10),e("cli2",10),e("cli3",9)}, Servers: []Edge{e("server1",10),e("server2",10),e("server3",9)}}))
	fmt.Print(DrawTopology(Topology{Mode: ModeReverse, Clients: []Edge{e("cli1",100),e("cli2",10)}, Servers: []Edge{e("server1",10),e("server2",10),e("server3",9),e("server4",1)}}))
	fmt.Print(DrawTopology(Topology{Mode: ModeForward, Clients: []Edge{e("cli1",-1)}, Servers: []Edge{e("server1",10),e("forbidden",0)}}))
	fmt.Print(DrawTopology(Topology{Mode: ModeNone, Clients: []Edge{e("cli1",3)}, Servers: []Edge{e("server1",3)}}))
}
