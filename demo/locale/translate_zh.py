"""Fill demo/locale/zh_Hans/LC_MESSAGES/django.po from the table below (the msgids are English).

After ``manage.py makemessages -l zh_Hans``: ``python demo/locale/translate_zh.py`` then
``manage.py compilemessages``. Entries missing from the table are listed and left untranslated.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PO = Path(__file__).resolve().parent / "zh_Hans" / "LC_MESSAGES" / "django.po"

ZH = {
    "%(what)s must be a number such as 12, not “%(value)s”.": "%(what)s必须是数字（例如 12），而不是“%(value)s”。",
    "The id": "编号",
    "Credits must be a whole number such as 100, not “%(value)s”.": "积分必须是整数（例如 100），而不是“%(value)s”。",
    "Enter an amount such as 50 or 12.30 (at most two decimals).": "请输入金额，例如 50 或 12.30（最多两位小数）。",
    "This form was not sent from the page (or the page is too old); please try again.": "该表单不是从页面提交的（或页面已过期），请重试。",
    "This form's one-time token is damaged; please try again.": "该表单的一次性令牌已损坏，请重试。",
    "This form was already submitted with other values; reload the page to place a new order.": "该表单已用其他内容提交过；如需新下单，请刷新页面。",
    "Bad request": "请求有误",
    "This request cannot be understood": "无法理解该请求",
    "If you have paid at Alipay, please do not pay again: the payment is confirmed here within moments.": "如果您已在支付宝付款，请不要重复支付：付款结果稍后即会在此确认。",
    "You paid this order twice.": "您为该订单支付了两次。",
    "A payment arrived after this order was closed.": "订单关闭后收到了一笔付款。",
    "The extra payment of %(amount)s (%(channel)s) has been returned to the account it came from.": "多付的 %(amount)s（%(channel)s）已原路退回。",
    "The extra payment of %(amount)s (%(channel)s) is being returned to the account it came from.": "多付的 %(amount)s（%(channel)s）正在原路退回。",
    "The extra payment of %(amount)s (%(channel)s) will be returned to you by our staff.": "多付的 %(amount)s（%(channel)s）将由工作人员退还给您。",
    "The access this order gave to its courses ended with the refund.": "该订单的课程权限已随退款取消。",
    "All": "全部",
    "Cancelled or expired": "已取消或已过期",
    "Newer": "较新",
    "Page %(n)s of %(total)s": "第 %(n)s 页，共 %(total)s 页",
    "Older": "较早",
    "You started paying this order with %(channel)s at %(t)s. If you paid there, do not pay again: go back to the order and let us check with Alipay. Paying from the wallet asks Alipay first.": "您在 %(t)s 已经开始用%(channel)s支付该订单。如果已在那里付款，请不要重复支付：回到订单页让我们向支付宝查询。选择钱包支付时也会先向支付宝查询。",
    "Refunded rewards still to be taken back from your wallet: %(amount)s. Your next rewards repay it first.": "已退款的打赏中尚待从您钱包扣回：%(amount)s。您之后收到的打赏将优先抵扣。",
    "From ¥0.01 to %(max)s, at most two decimals.": "¥0.01 至 %(max)s，最多两位小数。",
    "The page number must be a number such as 2.": "页码必须是数字，例如 2。",
    "“check” must be a number such as 0.": "“check”必须是数字，例如 0。",
    "You started paying this order with Alipay, and Alipay cannot be asked right now whether that payment went through. Please try again in a moment.": "您已开始用支付宝支付该订单，但暂时无法向支付宝查询该笔付款是否成功。请稍后再试。",
    "Alipay says this order is already paid.": "支付宝显示该订单已支付。",
    "A top-up can be at most %(max)s.": "单次充值最多 %(max)s。",
    "enrollment purchase": "购买记录",
    "enrollment purchases": "购买记录",
    "%(first)s and others, %(count)d courses": "%(first)s 等 %(count)d 门课程",
    "The validity option": "有效期选项",
    "The course": "课程",
    "The coupon": "优惠券",
    "readers who rewarded": "打赏人数",
    "not yet taken back from the author": "尚未从作者扣回",
    "A reward can be at most %(max)s.": "单次打赏最多 %(max)s。",
    "The request could not be understood.": "无法理解该请求。",
    "Back to the home page": "返回首页",
    "Not allowed": "无权操作",
    "You may not do this. If the form was open for a long time, reload the page and try again.": "您无权执行此操作。如果表单打开了很久，请刷新页面后重试。",
    "The form has expired": "表单已过期",
    "Reload the page and send the form again. If this keeps happening, allow cookies for this site.": "请刷新页面后重新提交。如果一直出现，请允许本站使用 Cookie。",
    "Page not found": "页面不存在",
    "There is no such page here, or it is not yours to see.": "这里没有该页面，或您无权查看。",
    "Too many attempts": "尝试次数过多",
    "Server error": "服务器错误",
    "Something went wrong on our side and it has been logged. Please try again in a moment.": "我们这边出了点问题，已记录下来。请稍后再试。",
    "Thank you": "谢谢",
    "Your payment is being recorded. Sign in to see your order.": "正在记录您的付款。登录后可查看订单。",
    "Sign in": "登录",
    "Only courses can be checked out here: %(sku)s": "这里只能结算课程：%(sku)s",
    "Not valid yet": "尚未生效",
    "refunded %(amount)s": "已退款 %(amount)s",
    "No goods on sale with SKU %(sku)s.": "没有在售的商品 %(sku)s。",
    "No course option on sale with SKU %(sku)s.": "没有在售的课程有效期选项 %(sku)s。",
    "Unknown SKU %(sku)s.": "未知的商品编号 %(sku)s。",
    "Paid with": "支付方式",
    "Alipay trade no.": "支付宝交易号",
    "I have paid: check again": "我已付款，再查一次",
    "Starting balance of the demo": "演示初始余额",
    "Welcome credits": "新人积分",
    "stable key": "标识",
    "a stable key for sample data": "示例数据的固定标识",
    "That is not in your cart.": "购物车里没有这一项。",
    "Nobody has rewarded this article yet — be the first": "还没有人赞赏，支持一下",
    "This item is not on sale.": "该商品已下架。",
    "Enter a quantity from 1 to %(max)d.": "请输入 1 到 %(max)d 之间的数量。",
    "Demo site": "演示站点",
    "Item": "商品",
    "Validity": "有效期",
    "Price": "价格",
    "Qty": "数量",
    "Amount": "金额",
    "Coupon": "优惠券",
    "Credits": "积分",
    "Discount": "优惠",
    "Total": "合计",
    "Zhifu demo": "支付演示",
    "Shop": "商城",
    "Courses": "课程",
    "Articles": "文章",
    "Cart": "购物车",
    "My orders": "我的订单",
    "My courses": "我的课程",
    "Wallet": "钱包",
    "Log out": "退出",
    "Log in": "登录",
    "A demonstration of Zhifu: payments through a local Alipay sandbox. No real money moves.": "Zhifu 演示：支付走本地支付宝沙箱，不涉及真实资金。",
    "Home": "首页",
    "Pay with Alipay, safely": "安全地接入支付宝",
    "Three small sites on one payments core: a goods shop, a course site with a cart, coupons and credits, and article rewards paid by Alipay or from your wallet.": "同一个支付核心上的三个小站：商品商城；带购物车、优惠券和积分的课程站；以及用支付宝或钱包余额打赏的文章。",
    "Log in as <b>alice</b>, <b>bob</b> or <b>carol</b> (password <code>zhifu-demo</code>).": "用 <b>alice</b>、<b>bob</b> 或 <b>carol</b> 登录（密码 <code>zhifu-demo</code>）。",
    "Goods shop": "商品商城",
    "Browse goods": "浏览商品",
    "from %(price)s": "%(price)s 起",
    "Browse courses": "浏览课程",
    "Read articles": "阅读文章",
    "Order": "订单",
    "Thank you for your reward!": "感谢您的打赏！",
    "Top-up complete": "充值成功",
    "Payment successful": "支付成功",
    "Waiting for Alipay's confirmation": "等待支付宝确认",
    "We are asking Alipay about this payment; this page refreshes by itself.": "正在向支付宝查询这笔支付，本页面会自动刷新。",
    "Awaiting payment": "待支付",
    "Order no.": "订单号",
    "Status": "状态",
    "Subject": "订单标题",
    "Created": "下单时间",
    "Paid at": "支付时间",
    "Your courses": "您的课程",
    "until %(d)s": "有效期至 %(d)s",
    "permanent access": "永久有效",
    "You rewarded “%(title)s” with %(amount)s.": "您为《%(title)s》打赏了 %(amount)s。",
    "Go pay": "去付款",
    "Check again": "重新查询",
    "Start studying": "立即学习",
    "Back to the article": "返回文章",
    "My wallet": "我的钱包",
    "You have no orders yet.": "您还没有订单。",
    "Go shopping": "去逛逛",
    "Paid": "已支付",
    "Pay before %(t)s": "请在 %(t)s 前支付",
    "Cancel order": "取消订单",
    "Study": "去学习",
    "Details": "详情",
    "Pay": "支付",
    "Pay for your order": "支付订单",
    "pay before %(t)s": "请在 %(t)s 前支付",
    "Pay with": "支付方式",
    "balance %(b)s": "余额 %(b)s",
    "not enough": "余额不足",
    "Pay %(amount)s": "确认支付 %(amount)s",
    "Cancel this order": "取消这个订单",
    "Scan to pay": "扫码支付",
    "Scan with Alipay to pay": "请用支付宝扫码支付",
    "This page moves on by itself once Alipay confirms the payment.": "支付宝确认付款后，本页面会自动跳转。",
    "Sandbox: open the QR code's link to pay in this browser": "沙箱：在本浏览器中打开二维码链接付款",
    "I have paid": "我已付款",
    "Balance": "余额",
    "Top up through Alipay": "通过支付宝充值",
    "Top up": "充值",
    "Ledger": "资金流水",
    "No movements yet.": "暂无流水。",
    "Time": "时间",
    "Kind": "类型",
    "Note": "说明",
    "Your username and password didn't match. Please try again.": "用户名或密码不正确，请重试。",
    "Username": "用户名",
    "Password": "密码",
    "Demo users: alice, bob, carol — password <code>zhifu-demo</code>.": "演示用户：alice、bob、carol —— 密码 <code>zhifu-demo</code>。",
    "Partially refunded": "部分退款",
    "Refunded": "已退款",
    "Cancelled": "已取消",
    "Expired": "已过期",
    "Alipay (computer)": "支付宝（电脑网站）",
    "Alipay (mobile)": "支付宝（手机网站）",
    "Alipay QR code": "支付宝扫码",
    "Wallet balance": "钱包余额",
    "Purchase": "购买",
    "Reward": "打赏",
    "Top-up": "充值",
    "Payment": "支付",
    "Reward income": "打赏收入",
    "Refund": "退款",
    "Adjustment": "调整",
    "Your wallet balance is not enough for this payment.": "您的钱包余额不足以支付这笔订单。",
    "Alipay cannot be reached right now. Your order is kept; please try again in a moment.": "暂时无法连接支付宝。订单已保留，请稍后重试。",
    "This order has already been paid.": "这个订单已经支付过了。",
    "This order can no longer be paid or cancelled (status: %(status)s).": "这个订单已不能支付或取消（状态：%(status)s）。",
    "This order has expired; please place a new one.": "订单已过期，请重新下单。",
    "This order can no longer be paid.": "这个订单已不能支付。",
    "This order can no longer be changed.": "这个订单已不能修改。",
    "Choose how to pay.": "请选择支付方式。",
    "Paid from your wallet balance.": "已使用钱包余额支付。",
    "Order %(no)s cancelled.": "订单 %(no)s 已取消。",
    "Enter an amount such as 50 or 12.30.": "请输入金额，例如 50 或 12.30。",
    "title": "标题",
    "teacher": "讲师",
    "summary": "简介",
    "lessons": "课时",
    "cover colour": "封面颜色",
    "students": "学生数",
    "on sale": "在售",
    "course": "课程",
    "courses": "课程",
    "days": "天数",
    "price": "价格",
    "validity option": "有效期选项",
    "validity options": "有效期选项",
    "Permanent": "永久有效",
    "%(days)d days": "%(days)d 天",
    "Fixed amount": "满减券",
    "Percentage": "折扣券",
    "code": "券码",
    "name": "名称",
    "kind": "类型",
    "amount off": "减免金额",
    "percent off": "折扣百分比",
    "minimum spend": "最低消费",
    "valid from": "生效时间",
    "valid until": "失效时间",
    "coupon": "优惠券",
    "coupons": "优惠券",
    "¥%(amount)s off": "立减 ¥%(amount)s",
    "%(percent)d%% off": "减 %(percent)d%%",
    "%(discount)s on orders from ¥%(min)s": "满 ¥%(min)s %(discount)s",
    "Available": "可用",
    "Reserved by an unpaid order": "已被未支付订单占用",
    "Used": "已使用",
    "status": "状态",
    "order": "订单",
    "obtained": "领取时间",
    "used": "使用时间",
    "user coupon": "用户优惠券",
    "user coupons": "用户优惠券",
    "credits": "积分",
    "held by unpaid orders": "未支付订单占用",
    "credit account": "积分账户",
    "credit accounts": "积分账户",
    "Granted": "赠送",
    "Held for an order": "下单冻结",
    "Released (order not paid)": "解冻（订单未支付）",
    "Spent": "已抵扣",
    "Returned (refund)": "退回（退款）",
    "credit entry": "积分流水",
    "credit entries": "积分流水",
    "bought at": "购买时间",
    "expires at": "过期时间",
    "revoked (refunded)": "已撤销（退款）",
    "enrollment": "购买记录",
    "enrollments": "购买记录",
    "This coupon is not yours.": "这张优惠券不属于您。",
    "This coupon has already been used.": "这张优惠券已经使用过了。",
    "This coupon is reserved by your unpaid order %(order)s; pay or cancel it first.": "这张优惠券已被您的未支付订单 %(order)s 占用，请先支付或取消该订单。",
    "The coupon “%(name)s” has expired.": "优惠券“%(name)s”已过期。",
    "The coupon “%(name)s” is not valid yet.": "优惠券“%(name)s”尚未生效。",
    "The coupon “%(name)s” needs a minimum spend of ¥%(min)s.": "优惠券“%(name)s”需满 ¥%(min)s 才能使用。",
    "Select at least one course.": "请至少选择一门课程。",
    "Credits cannot be negative.": "积分不能为负数。",
    "You have only %(available)d credits available.": "您只有 %(available)d 积分可用。",
    "At most %(max)d credits can be used on this order.": "本订单最多可使用 %(max)d 积分。",
    "A selected course is no longer on sale.": "所选课程中有已下架的课程。",
    "%(credits)d credits": "%(credits)d 积分",
    "%(first)s and %(n)d more courses": "%(first)s 等 %(n)d 门课程",
    "My cart": "我的购物车",
    "Your cart is empty.": "购物车是空的。",
    "Course": "课程",
    "Select": "选择",
    "Remove": "删除",
    "Selected": "已选",
    "Update": "更新",
    "Check out selected": "去结算",
    "Checkout": "确认订单",
    "No coupon": "不使用优惠券",
    "You have %(a)s credits (%(r)s credits = ¥1).": "您有 %(a)s 积分（%(r)s 积分 = ¥1）。",
    "Up to %(m)s can be used here.": "本单最多可用 %(m)s 积分。",
    "Subtotal": "商品总价",
    "To pay": "实付",
    "Recalculate": "重新计算",
    "Place order": "提交订单",
    "Your access was refunded.": "该课程已退款。",
    "Your access expired on %(d)s.": "您的有效期已于 %(d)s 结束。",
    "You can study this course until %(d)s.": "您可以学习本课程至 %(d)s。",
    "You have permanent access to this course.": "您已永久拥有本课程。",
    "Add to cart": "加入购物车",
    "Buy now": "立即购买",
    "My coupons and credits": "我的优惠券和积分",
    "My coupons": "我的优惠券",
    "Valid": "有效期",
    "No coupons.": "没有优惠券。",
    "(%(b)s in total, %(h)s held by unpaid orders)": "（共 %(b)s，其中 %(h)s 被未支付订单占用）",
    "You have not bought any course yet.": "您还没有购买课程。",
    "bought %(d)s": "购买于 %(d)s",
    "Expired on %(d)s": "已于 %(d)s 过期",
    "Valid until %(d)s": "有效期至 %(d)s",
    "Buy again": "再次购买",
    "Choose a validity option.": "请选择有效期。",
    "“%(title)s” is in your cart.": "《%(title)s》已加入购物车。",
    "Removed from your cart.": "已从购物车删除。",
    "Cart updated.": "购物车已更新。",
    "Credits must be a whole number.": "积分必须是整数。",
    "Simplified Chinese": "简体中文",
    "English": "英语",
    "Article rewards": "文章打赏",
    "body": "正文",
    "published": "发布时间",
    "rewards": "打赏",
    "rewarded in total": "打赏总额",
    "article": "文章",
    "articles": "文章",
    "Unpaid": "未支付",
    "Not paid (cancelled or expired)": "未支付（已取消或超时）",
    "amount": "金额",
    "message": "留言",
    "paid with": "支付方式",
    "reward": "打赏",
    "Enter an amount between ¥0.01 and ¥%(max)s.": "请输入 ¥0.01 到 ¥%(max)s 之间的金额。",
    "You cannot reward your own article.": "不能打赏自己的文章。",
    "Reward for “%(title)s”": "打赏文章《%(title)s》",
    "Like this article? Buy the author a coffee.": "“小礼物走一走，来关注我”",
    "This is your article: you cannot reward it.": "这是您自己的文章，不能打赏。",
    "Log in to reward": "登录后打赏",
    "Rewards": "打赏记录",
    "Reward %(name)s": "打赏 %(name)s",
    "Or another amount": "或输入其他金额",
    "Message": "留言",
    "Thanks for writing this!": "感谢分享！",
    "Alipay": "支付宝",
    "Wallet (%(b)s)": "余额（%(b)s）",
    "Close": "关闭",
    "description": "描述",
    "picture": "图片",
    "sold": "已售",
    "goods": "商品",
    "Goods": "商品",
    "Nothing on sale.": "暂无在售商品。",
    "Back from Alipay": "从支付宝返回",
    "This payment result cannot be shown": "无法显示支付结果",
    "The link back from Alipay did not check out. If you paid, your order will still be updated by Alipay's notification.": "支付宝返回的链接校验未通过。如果您已付款，订单仍会根据支付宝的异步通知更新。",
    "See your order": "查看订单",
    "Thank you! Your reward was paid from your wallet.": "感谢打赏！已从钱包余额支付。",
    "Articles by our authors": "作者文章",
    "Paid amount": "实付金额",
}

PLURALS = {
    "%(n)s reader rewarded": "%(n)s 人打赏",
    "Too many failed logins for this account from your address. Try again in %(minutes)s minute.": "您所在地址对该账号的登录失败次数过多。请 %(minutes)s 分钟后再试。",
    "%(n)s lesson": "%(n)s 课时",
    "%(n)s student": "%(n)s 名学生",
    "%(n)s reward": "%(n)s 人打赏",
    "%(n)s sold": "已售 %(n)s",
    "%(n)s reader has rewarded this article — add your support": "已经有 %(n)s 人赞赏，支持一下",
}


def _unquote(lines: list[str]) -> str:
    return "".join(
        re.sub(r'^"|"$', "", line.strip()).replace('\\"', '"').replace("\\n", "\n")
        for line in lines
    )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main() -> int:
    text = PO.read_text(encoding="utf-8")
    blocks = text.split("\n\n")
    missing = []
    out = []
    for block in blocks:
        lines = block.split("\n")
        keys = [i for i, line in enumerate(lines) if line.startswith("msgid ")]
        if not keys or block.startswith('msgid ""\nmsgstr ""\n"Project'):
            out.append(block)
            continue
        start = keys[0]
        end = start + 1
        while end < len(lines) and lines[end].startswith('"'):
            end += 1
        msgid = _unquote([lines[start][6:], *lines[start + 1 : end]])
        if not msgid:
            out.append(block)
            continue
        head = [line for line in lines[:start] if not line.startswith("#, fuzzy")]
        if any(line.startswith("msgid_plural") for line in lines):
            first = next(i for i, line in enumerate(lines) if line.startswith("msgid_plural"))
            last = first + 1
            while last < len(lines) and lines[last].startswith('"'):
                last += 1  # a long msgid_plural wraps onto "..." lines
            plural = "\n".join(lines[first:last])
            zh = PLURALS.get(msgid)
            if zh is None:
                missing.append(msgid)
                out.append(block)
                continue
            body = [*lines[start:end], plural, f"msgstr[0] {_quote(zh)}"]
        else:
            zh = ZH.get(msgid)
            if zh is None:
                missing.append(msgid)
                out.append(block)
                continue
            body = [*lines[start:end], f"msgstr {_quote(zh)}"]
        out.append("\n".join(head + body))
    result = "\n\n".join(out).replace(
        '#\n#, fuzzy\nmsgid ""\nmsgstr ""', '#\nmsgid ""\nmsgstr ""', 1
    )
    result = result.replace(
        '"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"',
        '"Plural-Forms: nplurals=1; plural=0;\\n"',
    )
    result = result.replace('"Language: \\n"', '"Language: zh_Hans\\n"')
    PO.write_text(result if result.endswith("\n") else result + "\n", encoding="utf-8")
    for msgid in missing:
        print("untranslated:", msgid, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
