// SPDX-License-Identifier: GPL-2.0
/*
 * hello: the smallest module tests/vm/smoke.sh loads in the target VM.
 * Says so in the kernel log on load and unload, and offers one read-only
 * debugfs file, /sys/kernel/debug/stapvm_hello/greeting.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

static const char greeting[] = "hello from stapvm_hello\n";
static struct dentry *hello_dir;

static ssize_t greeting_read(struct file *file, char __user *buf,
			     size_t count, loff_t *ppos)
{
	return simple_read_from_buffer(buf, count, ppos, greeting,
				       sizeof(greeting) - 1);
}

static const struct file_operations greeting_fops = {
	.owner = THIS_MODULE,
	.read = greeting_read,
	.llseek = default_llseek,
};

static int __init hello_init(void)
{
	hello_dir = debugfs_create_dir("stapvm_hello", NULL);
	debugfs_create_file("greeting", 0444, hello_dir, NULL, &greeting_fops);
	pr_info("stapvm_hello: loaded\n");
	return 0;
}

static void __exit hello_exit(void)
{
	debugfs_remove_recursive(hello_dir);
	pr_info("stapvm_hello: unloaded\n");
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("tests/vm smoke-test module");
