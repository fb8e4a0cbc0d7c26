// Entry points of the anyprec sub-commands; each parses its own options
// (argv[first..]) and returns the process exit status.
#pragma once

namespace apcli {

int cmd_info(int argc, char** argv, int first);
int cmd_run(int argc, char** argv, int first);
int cmd_chat(int argc, char** argv, int first);
int cmd_tokenize(int argc, char** argv, int first);
int cmd_ppl(int argc, char** argv, int first);
int cmd_quantize(int argc, char** argv, int first);
int cmd_bench(int argc, char** argv, int first);

}  // namespace apcli
