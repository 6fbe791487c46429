package main

import (
	"github.com/spf13/cobra"
)

func newCompletionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print the script that makes your shell complete proxylab's commands, flags
and arguments (scenario files, the drawings of explain). Load it once in the
current shell, or install it for good as shown below.`,
		Example: `  # bash, this shell only
  source <(proxylab completion bash)

  # bash, for good (needs the bash-completion package)
  proxylab completion bash > ~/.local/share/bash-completion/completions/proxylab

  # zsh (with compinit enabled)
  proxylab completion zsh > "${fpath[1]}/_proxylab"

  # fish
  proxylab completion fish > ~/.config/fish/completions/proxylab.fish`,
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(c *cobra.Command, args []string) error {
			root, out := c.Root(), c.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}
