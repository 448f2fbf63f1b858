// cleanroom: the command-line front of the CleanupEngine (see cli_app.h).
#include <iostream>

#include "cli_app.h"

int main(int argc, char** argv) { return cleanroom::cli::runCommandLine(argc, argv, std::cout, std::cerr); }
