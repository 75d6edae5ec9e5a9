"""Workers: the arq job that runs one execution, the graph runner, and the engines that wrap nodes."""
