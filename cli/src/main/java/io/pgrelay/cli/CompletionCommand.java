package io.pgrelay.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code pgrelay completion}: prints a bash/zsh completion script for every pgrelay command and option. */
@Command(name = "completion", mixinStandardHelpOptions = true,
        description = {"Print a bash completion script (zsh reads it too, after autoload -U +X bashcompinit "
                + "&& bashcompinit).",
            "Load it in the current shell with: source <(pgrelay completion)",
            "or install it with: pgrelay completion > /etc/bash_completion.d/pgrelay"})
final class CompletionCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        // Generated from the live command tree, so new subcommands and options complete without edits here.
        CommandLine root = spec.commandLine().getParent();
        spec.commandLine().getOut().print(AutoComplete.bash(root.getCommandName(), root));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
